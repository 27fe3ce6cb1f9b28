//go:build ignore

// pythia_revisions writes Pythia-160M-shaped Hugging Face directories with
// random weights, one per revision (step0, step1000, ...), for timing
// `mechinterp track --revisions` (docs/models.md, "Tracking Pythia's
// revisions"; scripts/bench-track-revisions.sh runs it):
//
//	go run scripts/pythia_revisions.go DIR N
//
// Each is what GPTNeoXForCausalLM writes for Pythia-160M (12 layers,
// d_model 768, 12 heads, rotary on a quarter of each head, parallel
// residual, exact GELU, d_mlp 3072, vocabulary 50304, n_ctx 2048, untied),
// in float32 (about 650 MB), seeded by the revision's index.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mechinterp/mechinterp/models"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/pythia_revisions.go DIR N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "pythia_revisions: N must be a positive integer")
		os.Exit(2)
	}
	for i := 0; i < n; i++ {
		cfg := models.Config{NLayers: 12, NHeads: 12, DModel: 768, DMLP: 3072, NCtx: 2048, DVocab: 50304,
			Positional: models.PosRotary, RotaryDim: 16, RotaryBase: 10000, ParallelAttnMLP: true,
			ActFn: models.ActGelu, Untied: true, NoUnembedBias: true, Seed: uint64(i)}
		m, err := models.New(cfg)
		if err == nil {
			err = m.Save(filepath.Join(os.Args[1], fmt.Sprintf("step%d", i*1000)))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pythia_revisions:", err)
			os.Exit(1)
		}
	}
}
