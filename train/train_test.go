package train_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

// tiny returns a small model and matching training and held-out sources of
// the synthetic language.
func tiny(t testing.TB) (*models.Model, *data.Pairs, *data.Pairs) {
	t.Helper()
	m := testmodel.New(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 32, AttnOnly: true, Seed: 3})
	sc := data.SyntheticConfig{Vocab: 32, MinSpan: 3, MaxSpan: 6}.WithDefaults()
	tr, err := data.NewSynthetic(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := data.NewSynthetic(sc, 2)
	if err != nil {
		t.Fatal(err)
	}
	return m, data.NewPairs(tr), data.NewPairs(ev)
}

func tinyConfig(steps int) train.Config {
	c := train.DefaultConfig()
	c.Steps, c.BatchSize, c.Warmup, c.LR, c.MinLR = steps, 8, 2, 1e-2, 1e-3
	c.EvalEvery, c.EvalBatches = 5, 2
	c.Checkpoints = train.CheckpointSchedule{PerDoubling: 1, Every: 10}
	return c
}

func losses(t *testing.T, dir string) []float64 {
	t.Helper()
	ms, err := train.ReadMetrics(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, m := range ms {
		if m.Loss != nil {
			out = append(out, *m.Loss)
		}
	}
	return out
}

func TestLossFalls(t *testing.T) {
	m, tr, ev := tiny(t)
	cfg := tinyConfig(100)
	cfg.BatchSize = 16
	cfg.Checkpoints = train.CheckpointSchedule{}
	res, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: t.TempDir(), Train: tr, Eval: ev})
	if err != nil {
		t.Fatal(err)
	}
	ls := losses(t, res.Dir)
	if len(ls) != 100 {
		t.Fatalf("%d losses logged, want 100", len(ls))
	}
	mean := func(s []float64) float64 {
		x := 0.0
		for _, v := range s {
			x += v
		}
		return x / float64(len(s))
	}
	first, last := mean(ls[:10]), mean(ls[90:])
	ms, _ := train.ReadMetrics(filepath.Join(res.Dir, train.MetricsFile))
	eval0 := *ms[0].EvalLoss
	t.Logf("training loss %.3f -> %.3f, held-out %.3f -> %.3f (uniform: %.3f)", first, last, eval0, res.EvalLoss, math.Log(32))
	if last > first-0.1 || !(res.EvalLoss < eval0-0.25) {
		t.Errorf("loss did not fall: training %.3f -> %.3f, held-out %.3f -> %.3f", first, last, eval0, res.EvalLoss)
	}
	cps, _ := train.Checkpoints(res.Dir)
	if len(cps) != 1 || cps[0].Step != 100 {
		t.Errorf("checkpoints %v, want only the final step", cps)
	}
}

// TestResume: an interrupted run resumed from its checkpoint logs exactly
// the losses of an uninterrupted one, and so does a run that crashed after
// its last checkpoint (its later metrics lines are dropped and redone).
func TestResume(t *testing.T) {
	const N = 10
	m, tr, ev := tiny(t)
	full := t.TempDir()
	cfg := tinyConfig(2 * N)
	cfg.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	if _, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: full, Train: tr, Eval: ev}); err != nil {
		t.Fatal(err)
	}
	want := losses(t, full)
	wantParams := slices.Clone(m.Params.Data)

	// Interrupt after step N, then resume with a fresh model and sources.
	split := t.TempDir()
	m, tr, ev = tiny(t)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := train.Run(ctx, train.Options{Model: m, Config: cfg, Dir: split, Train: tr, Eval: ev,
		OnStep: func(x train.Metrics) {
			if x.Step == N {
				cancel()
			}
		}})
	if !errors.Is(err, train.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	if !res.Interrupted || res.Step != N {
		t.Fatalf("interrupted run: %+v", res)
	}
	if _, err := os.Stat(train.StepDir(split, N)); err != nil {
		t.Fatalf("no checkpoint at the interruption: %v", err)
	}
	m, tr, ev = tiny(t)
	res, err = train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: split, Train: tr, Eval: ev, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != N || res.Step != 2*N {
		t.Errorf("resumed run: %+v", res)
	}
	if got := losses(t, split); !slices.Equal(got, want) {
		t.Errorf("resumed losses differ:\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(m.Params.Data, wantParams) {
		t.Error("resumed run ends with different parameters")
	}

	// A crash after checkpoint 16 with metrics logged to step 20: keep
	// checkpoints up to 8, as if the process died during step 9..16.
	for _, cp := range []int{16, 20} {
		if err := os.RemoveAll(train.StepDir(full, cp)); err != nil {
			t.Fatal(err)
		}
	}
	// A stray temporary directory of a torn checkpoint write is ignored.
	if err := os.MkdirAll(train.StepDir(full, 16)+".tmp-123", 0o755); err != nil {
		t.Fatal(err)
	}
	m, tr, ev = tiny(t)
	res, err = train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: full, Train: tr, Eval: ev, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 8 {
		t.Errorf("resumed from %d, want 8", res.ResumedFrom)
	}
	if got := losses(t, full); !slices.Equal(got, want) {
		t.Errorf("losses after a crash and resume differ:\n got %v\nwant %v", got, want)
	}
	ms, _ := train.ReadMetrics(filepath.Join(full, train.MetricsFile))
	for i, x := range ms {
		if x.Step != i {
			t.Fatalf("metrics line %d has step %d", i, x.Step)
		}
	}

	// A changed learning rate is refused.
	m, tr, ev = tiny(t)
	cfg.LR *= 2
	_, err = train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: full, Train: tr, Eval: ev, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "train.lr") {
		t.Errorf("resuming with another lr: err = %v", err)
	}
	// So is starting over in a directory with checkpoints.
	_, err = train.Run(context.Background(), train.Options{Model: m, Config: tinyConfig(2 * N), Dir: full, Train: tr})
	if err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Errorf("fresh run over an old one: err = %v", err)
	}
}

// TestNaNStops: a NaN injected into the forward pass at step 7 stops the run
// with an error naming the step; checkpoint 4 survives and loads, nothing of
// step 7 was written.
func TestNaNStops(t *testing.T) {
	m, tr, ev := tiny(t)
	dir := t.TempDir()
	cfg := tinyConfig(20)
	cfg.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	calls := 0
	hook := func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
		if name == "hook_embed" {
			calls++
			if calls == 7 {
				act.Data[3] = float32(math.NaN())
			}
		}
		return nil, nil
	}
	_, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: dir, Train: tr, Eval: ev, Hook: hook})
	var nf *train.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a NonFiniteError", err)
	}
	if nf.Step != 7 || nf.What != "loss" || nf.LastCheckpoint != train.StepDir(dir, 4) {
		t.Errorf("error %+v", nf)
	}
	if !strings.Contains(err.Error(), "step 7") || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("error message %q does not name the step and NaN", err)
	}
	cps, _ := train.Checkpoints(dir)
	if len(cps) != 4 || cps[3].Step != 4 {
		t.Errorf("checkpoints %v, want 0, 1, 2, 4", cps)
	}
	cfgBack, p, err := models.LoadParams(train.StepDir(dir, 4))
	if err != nil {
		t.Fatalf("last checkpoint does not load: %v", err)
	}
	if cfgBack.DModel != 16 || len(p.Data) != len(m.Params.Data) {
		t.Errorf("last checkpoint: config %+v", cfgBack)
	}
	st, err := train.ReadState(train.StepDir(dir, 4))
	if err != nil || st.Step != 4 || st.Tokens != 4*8*16 {
		t.Errorf("training state %+v, %v", st, err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, train.CheckpointsDir))
	if len(ents) != 4 {
		t.Errorf("checkpoints dir holds %d entries, want 4 (no temporary leftovers)", len(ents))
	}
	ms, _ := train.ReadMetrics(filepath.Join(dir, train.MetricsFile))
	if last := ms[len(ms)-1]; last.Step != 6 {
		t.Errorf("last metrics line is step %d, want 6", last.Step)
	}

	// An absurd learning rate blows the weights up: stopped, too.
	m, tr, ev = tiny(t)
	cfg.LR, cfg.MinLR, cfg.GradClip = 1e30, 0, 0
	_, err = train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: t.TempDir(), Train: tr, Eval: ev})
	if !errors.As(err, &nf) {
		t.Fatalf("lr 1e30: err = %v, want a NonFiniteError", err)
	}
	t.Logf("lr 1e30: %v", err)
}

func TestConfigValidate(t *testing.T) {
	if err := train.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := train.DefaultConfig()
	c.Steps, c.LR, c.Beta2 = 0, -1, 1
	err := c.Validate()
	for _, s := range []string{"steps", "lr", "beta2"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not mention %s", err, s)
		}
	}
}

func ExampleRun() {
	m, _ := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 32, AttnOnly: true})
	lang, _ := data.NewSynthetic(data.SyntheticConfig{Vocab: 32, MinSpan: 3, MaxSpan: 6}.WithDefaults(), 1)
	cfg := train.DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.Warmup, cfg.EvalEvery = 20, 4, 5, 0
	cfg.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	res, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: dir, Train: data.NewPairs(lang)})
	if err != nil {
		fmt.Println(err)
		return
	}
	cps, _ := train.Checkpoints(dir)
	fmt.Println("steps:", res.Step, "tokens:", res.Tokens)
	for _, cp := range cps {
		fmt.Print(filepath.Base(cp.Dir), " ")
	}
	fmt.Println()
	// Output:
	// steps: 20 tokens: 1280
	// step-000000 step-000001 step-000002 step-000004 step-000008 step-000016 step-000020
}

// TestPruneOptimizerStates: after pruning, only the latest checkpoint keeps
// its optimizer moments, every checkpoint still loads as a model, and the
// run still resumes from its latest checkpoint.
func TestPruneOptimizerStates(t *testing.T) {
	m, tr, ev := tiny(t)
	dir := t.TempDir()
	cfg := tinyConfig(8)
	cfg.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	if _, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: dir, Train: tr, Eval: ev}); err != nil {
		t.Fatal(err)
	}
	freed, err := train.PruneOptimizerStates(dir)
	if err != nil {
		t.Fatal(err)
	}
	cps, _ := train.Checkpoints(dir)
	if len(cps) != 5 || freed <= 0 {
		t.Fatalf("%d checkpoints, %d bytes freed", len(cps), freed)
	}
	for i, cp := range cps {
		_, err := os.Stat(filepath.Join(cp.Dir, train.OptimizerFile))
		if last := i == len(cps)-1; last != (err == nil) {
			t.Errorf("step %d: optimizer file present = %v, want %v", cp.Step, err == nil, last)
		}
		if _, err := models.Load(cp.Dir); err != nil {
			t.Errorf("step %d no longer loads: %v", cp.Step, err)
		}
	}
	m, tr, ev = tiny(t)
	res, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: dir, Train: tr, Eval: ev, Resume: true})
	if err != nil || res.ResumedFrom != 8 {
		t.Fatalf("resume after pruning: %v, %+v", err, res)
	}
	if again, err := train.PruneOptimizerStates(dir); err != nil || again != 0 {
		t.Errorf("pruning twice: %d bytes, %v", again, err)
	}
}

// TestRestartBeforeFirstCheckpoint: a run killed before its first checkpoint leaves a
// metrics.jsonl (and perhaps the temporary directory of a checkpoint being written);
// starting it again, with or without Resume, trains from step 0 and must start a fresh log
// and remove the stray directory. Before, the new lines were appended to the old ones
// (2,361 lines for 1,501 steps) and step-N.tmp-* directories stayed forever.
func TestRestartBeforeFirstCheckpoint(t *testing.T) {
	cfg := tinyConfig(6)
	full := t.TempDir()
	m, tr, ev := tiny(t)
	if _, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: full, Train: tr, Eval: ev}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(full, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, resume := range []bool{false, true} {
		t.Run(fmt.Sprintf("resume %v", resume), func(t *testing.T) {
			dir := t.TempDir()
			// What a kill -9 at step 4 leaves: four steps of log, a checkpoint half written.
			lines := strings.SplitAfter(string(want), "\n")
			if err := os.WriteFile(filepath.Join(dir, train.MetricsFile), []byte(strings.Join(lines[:5], "")), 0o644); err != nil {
				t.Fatal(err)
			}
			stray := filepath.Join(dir, train.CheckpointsDir, "step-000004.tmp-123456")
			if err := os.MkdirAll(stray, 0o755); err != nil {
				t.Fatal(err)
			}
			m, tr, ev := tiny(t)
			if _, err := train.Run(context.Background(), train.Options{Model: m, Config: cfg, Dir: dir, Train: tr, Eval: ev, Resume: resume}); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(dir, train.MetricsFile))
			if n, w := strings.Count(string(got), "\n"), strings.Count(string(want), "\n"); n != w {
				t.Errorf("metrics.jsonl has %d lines after the restart, an uninterrupted run %d", n, w)
			}
			if !slices.Equal(losses(t, dir), losses(t, full)) {
				t.Errorf("losses after the restart differ:\n got %v\nwant %v", losses(t, dir), losses(t, full))
			}
			if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the stray %s is still there (%v)", stray, err)
			}
		})
	}
}
