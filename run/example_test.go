package run_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// A run from a config, trained and read back.
func Example() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	cfg := run.DefaultConfig() // what an empty run.yaml means
	cfg.Model.NLayers, cfg.Model.DModel, cfg.Model.NCtx = 1, 16, 16
	cfg.Data.Synthetic = data.SyntheticConfig{Vocab: 32, MinSpan: 3, MaxSpan: 6}
	cfg.Train.Steps, cfg.Train.BatchSize, cfg.Train.Warmup = 4, 4, 1
	cfg.Train.EvalEvery = 2
	cfg.Train.Checkpoints = train.CheckpointSchedule{Every: 2}

	res, err := run.Start(context.Background(), filepath.Join(dir, "x"), cfg, run.Options{})
	if err != nil {
		log.Fatal(err)
	}
	r, err := run.Open(res.Dir)
	if err != nil {
		log.Fatal(err)
	}
	last, _ := r.Latest()
	fmt.Println("steps:", res.Step, "checkpoints:", len(r.Checkpoints), "last:", last.Step)
	fmt.Println("d_vocab from the data:", r.Config.Model.DVocab)
	fmt.Println("held-out seed differs:", r.HeldOutData().Seed != r.Config.Data.Seed)
	// Output:
	// steps: 4 checkpoints: 2 last: 4
	// d_vocab from the data: 32
	// held-out seed differs: true
}
