package testmodel

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

// Tiny is a two-layer attention-only model small enough to train and probe
// in a test: its repeated-token prompts fit its context and its vocabulary.
var Tiny = models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 20, AttnOnly: true}

// New returns a model of cfg with its own seeded initialization.
func New(t testing.TB, cfg models.Config) *models.Model {
	t.Helper()
	m, err := models.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Random returns a model of cfg whose every parameter is drawn from
// N(0, std²), seeded by cfg.Seed: with std well above GPT-2's 0.02 every
// path carries signal (attention is far from uniform), which tests of
// hooks and gradients need.
func Random(t testing.TB, cfg models.Config, std float64) *models.Model {
	t.Helper()
	m := New(t, cfg)
	rng := rand.New(rand.NewPCG(cfg.Seed, 5))
	for i := range m.Params.Data {
		m.Params.Data[i] = float32(rng.NormFloat64() * std)
	}
	return m
}

// Zero returns a model of cfg with every parameter zero except the
// LayerNorm gains, which are one, for weights set by hand with SetWeight.
func Zero(t testing.TB, cfg models.Config) *models.Model {
	t.Helper()
	m := New(t, cfg)
	clear(m.Params.Data)
	if m.Config.HasLN() {
		SetOnes(t, m, "ln_final.w", 0)
		for l := range cfg.NLayers {
			SetOnes(t, m, "ln1.w", l)
			if !cfg.AttnOnly {
				SetOnes(t, m, "ln2.w", l)
			}
		}
	}
	return m
}

// SetOnes sets every element of the named weight of layer l to one.
func SetOnes(t testing.TB, m *models.Model, name string, l int) {
	t.Helper()
	w := Weight(t, m, name, l)
	for i := range w.Data {
		w.Data[i] = 1
	}
	Set(t, m, name, l, w)
}

// Set writes the named weight of layer l.
func Set(t testing.TB, m *models.Model, name string, l int, w *tensor.Tensor) {
	t.Helper()
	if err := m.SetWeight(name, l, w); err != nil {
		t.Fatal(err)
	}
}

// Weight reads the named weight of layer l (a copy).
func Weight(t testing.TB, m *models.Model, name string, l int) *tensor.Tensor {
	t.Helper()
	w, err := m.Weight(name, l)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Save writes a model of cfg (New's initialization) to the checkpoint
// directory dir and returns it.
func Save(t testing.TB, dir string, cfg models.Config) *models.Model {
	t.Helper()
	m := New(t, cfg)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return m
}

// Checkpoint writes a model of cfg to a new temporary checkpoint directory
// and returns the directory.
func Checkpoint(t testing.TB, cfg models.Config) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	Save(t, dir, cfg)
	return dir
}

// Run writes a run directory's checkpoints at the given steps without
// training: the checkpoint of step s is a fresh model of cfg seeded s+1, so
// that each differs.
func Run(t testing.TB, run string, cfg models.Config, steps ...int) {
	t.Helper()
	for _, s := range steps {
		c := cfg
		c.Seed = uint64(s + 1)
		Save(t, train.StepDir(run, s), c)
	}
}

// Trained trains a model of cfg (seeded 1) for steps steps of batch 4 on
// repeated random tokens below cfg.DVocab, into the run directory run, with
// a checkpoint at every doubling of the step and a metrics log: a real run
// in well under a second for Tiny.
func Trained(t testing.TB, run string, cfg models.Config, steps int) *train.Result {
	t.Helper()
	cfg.Seed = 1
	m := New(t, cfg)
	src, err := data.NewRepeated(data.RepeatedConfig{Vocab: cfg.DVocab, Len: 3, MaxLen: 7}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := train.DefaultConfig()
	tc.Steps, tc.BatchSize, tc.Warmup, tc.EvalEvery = steps, 4, 2, 0
	tc.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	res, err := train.Run(context.Background(), train.Options{Model: m, Config: tc, Dir: run, Train: data.NewPairs(src)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
