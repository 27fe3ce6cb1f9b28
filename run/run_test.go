package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/train"
)

// tinyConfig is a run of a few milliseconds.
func tinyConfig() Config {
	c := DefaultConfig()
	c.Model.NLayers, c.Model.NHeads, c.Model.DModel, c.Model.NCtx = 1, 2, 16, 16
	c.Model.Seed = 1
	c.Data.Seed = 1
	c.Data.Synthetic = data.SyntheticConfig{Vocab: 32, MinSpan: 3, MaxSpan: 6}
	c.Data = c.Data.WithDefaults()
	c.Model = c.Model.WithDefaults()
	c.Train.Steps, c.Train.BatchSize, c.Train.Warmup = 6, 4, 2
	c.Train.EvalEvery, c.Train.EvalBatches = 3, 1
	c.Train.Checkpoints = train.CheckpointSchedule{Every: 3}
	return c
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		env        [2]string
		check      func(Config) bool
	}{
		{"empty file is the defaults", "", [2]string{}, func(c Config) bool {
			d := DefaultConfig()
			return reflect.DeepEqual(c.Train, d.Train) && c.Model.NLayers == 2 && c.Data.Kind == data.KindSynthetic
		}},
		{"seeds follow train.seed", "train:\n  seed: 7\n", [2]string{}, func(c Config) bool { return c.Model.Seed == 7 && c.Data.Seed == 7 }},
		{"a seed given stays", "train:\n  seed: 7\nmodel:\n  seed: 2\n", [2]string{}, func(c Config) bool { return c.Model.Seed == 2 && c.Data.Seed == 7 }},
		{"environment beats the file", "train:\n  lr: 0.01\n", [2]string{"MECHINTERP_TRAIN_LR", "0.002"}, func(c Config) bool { return c.Train.LR == 0.002 }},
		{"out is allowed", "out: somewhere\n", [2]string{}, func(c Config) bool { return true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			got, err := LoadConfig(writeFile(t, "run.yaml", c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "train:\n  lrr: 1\n", `unknown key "train.lrr" (see docs/training.md for the keys)`},
		{"invalid value", "train:\n  lr: -1\n", "lr must be positive"},
		{"wrong type", "model:\n  n_layers: two\n", "model.n_layers"},
		{"bad data", "data:\n  kind: pictures\n", `kind "pictures"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, "run.yaml", c.yaml))
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v: want one line containing %q", err, c.want)
			}
		})
	}
}

// TestStartOpen trains a tiny run, reads it back with Open, and resumes
// the finished run as a no-op.
func TestStartOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	c := tinyConfig()
	res, err := Start(context.Background(), dir, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 6 || len(res.Checkpoints) != 2 {
		t.Errorf("step %d, checkpoints %v", res.Step, res.Checkpoints)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Model.DVocab = 32 // filled in from the data
	if r.Config == nil || string(r.Config.YAML()) != string(c.YAML()) {
		t.Errorf("run.yaml reads back as\n%s\nwant\n%s", r.Config.YAML(), c.YAML())
	}
	if len(r.Checkpoints) != 2 || len(r.Metrics) != 7 { // steps 0 (eval only) to 6
		t.Errorf("%d checkpoints, %d metrics lines", len(r.Checkpoints), len(r.Metrics))
	}
	if hd := r.HeldOutData(); hd == nil || hd.Seed != HeldOutSeed(c.Data.Seed) || hd.Seed == c.Data.Seed {
		t.Errorf("held-out data %+v", hd)
	}
	other := c
	other.Train.LR = 1e-4
	if _, err := Start(context.Background(), dir, other, Options{}); err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Errorf("Start over a run: %v", err)
	}
	if again, err := ReadConfig(dir); err != nil || again.Train.LR != c.Train.LR {
		t.Errorf("a refused Start rewrote run.yaml: lr %v, %v", again.Train.LR, err)
	}
	res, err = Resume(context.Background(), dir, Options{})
	if err != nil || res.ResumedFrom != 6 {
		t.Errorf("Resume of a finished run: %v, resumed from %d", err, res.ResumedFrom)
	}
}

// TestHeldOut: the held-out stream is the mixture's held-out set for a
// repeated-data mixture, else the source under HeldOutSeed.
func TestHeldOut(t *testing.T) {
	c := tinyConfig()
	first := func(src data.Source) []int {
		b := data.NewBatch(1, 16)
		if err := src.Next(b); err != nil {
			t.Fatal(err)
		}
		return b.Row(0)
	}
	src, err := HeldOut(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := data.New(HeldOutData(c.Data))
	if !reflect.DeepEqual(first(src), first(want)) {
		t.Error("held-out stream is not the source under HeldOutSeed")
	}
	c.Data.Mixture = data.MixtureConfig{Fraction: 0.5, Epochs: 2}
	if err := c.resolveMixture(); err != nil {
		t.Fatal(err)
	}
	if c.Data.Mixture.Sequences != 24 || c.Data.Mixture.HeldOut != 4 {
		t.Errorf("mixture budget %+v, want 24 sequences and 4 held out", c.Data.Mixture)
	}
	src, err = HeldOut(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := data.NewMixtureFrom(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first(src), first(m.HeldOut())) {
		t.Error("a mixture's held-out stream is not its held-out set")
	}
}

func TestResolveMixtureErrors(t *testing.T) {
	c := tinyConfig()
	c.Data.Mixture = data.MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: 10}
	if err := c.resolveMixture(); err == nil || !strings.Contains(err.Error(), "data.mixture.sequences 10") {
		t.Errorf("budget too small: %v", err)
	}
}

// TestReadLegacy reads a study run's run.json of before run.yaml.
func TestReadLegacy(t *testing.T) {
	dir := t.TempDir()
	js := `{"run": {"id": "f0-s-attn2-s1"}, "model": {"n_layers": 3, "d_model": 16}, "data": {"kind": "synthetic", "seed": 4}, "train": {"steps": 9}, "eval": {"copies": 4}}`
	if err := os.WriteFile(filepath.Join(dir, LegacyConfigFile), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Config == nil || r.Config.Model.NLayers != 3 || r.Config.Data.Seed != 4 || r.Config.Train.Steps != 9 {
		t.Errorf("config %+v", r.Config)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "f", "x")
	for _, c := range []struct{ dir, want string }{
		{filepath.Join(dir, "none"), "does not exist"},
		{file, "is a file"},
	} {
		if _, err := Open(c.dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): %v, want %q", c.dir, err, c.want)
		}
	}
	r, err := Open(dir) // an empty directory: no config, no checkpoints
	if err != nil || r.Config != nil || len(r.Checkpoints) != 0 {
		t.Errorf("empty dir: %+v, %v", r, err)
	}
	if _, err := r.HeldOut(); err == nil {
		t.Error("HeldOut without a config: no error")
	}
}

// TestInterrupted: a cancelled context saves a checkpoint and says so.
func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Start(ctx, dir, tinyConfig(), Options{})
	if !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("err %v", err)
	}
	r, err := Open(dir)
	if err != nil || len(r.Checkpoints) == 0 {
		t.Errorf("after an interrupt: %v, checkpoints %v", err, r.Checkpoints)
	}
}
