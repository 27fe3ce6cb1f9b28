package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/train"
)

// tinyTrackYAML trains a 2-layer model for a few steps: plumbing, not heads.
const tinyTrackYAML = `
model:
  n_layers: 2
  n_heads: 2
  d_model: 16
  n_ctx: 16
data:
  kind: repeated
  repeated:
    vocab: 24
    len: 3
    max_len: 7
train:
  steps: 12
  batch_size: 4
  warmup: 2
  eval_every: 4
  eval_batches: 1
  checkpoints:
    log_per_doubling: 1
`

func trainTinyRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tiny.yaml", tinyTrackYAML)
	run := filepath.Join(dir, "run")
	if out, err := cli(t, "train", "--config", cfg, "--out", run, "--quiet"); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	return run
}

func TestTrackCommand(t *testing.T) {
	run := trainTinyRun(t)
	cps, _ := train.Checkpoints(run)
	stdout, stderr, code := runBinary(t, "track", run, "--workers", "2", "--batch", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "track: probed step"); n != len(cps) {
		t.Errorf("%d progress lines for %d checkpoints:\n%s", n, len(cps), stderr)
	}
	for _, want := range []string{"probed now", "induction heads (prefix matching >= 0.4 for good)", "track.csv", "report: " + filepath.Join(run, "track", "track.html")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(filepath.Join(run, "track", "track.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 1+4*len(cps) {
		t.Errorf("track.csv: %d rows for %d checkpoints × 4 heads (%v)", len(rows), len(cps), err)
	}

	// Again: nothing new to compute; with a new checkpoint, one.
	stdout, stderr, code = runBinary(t, "track", run, "--batch", "4")
	if code != 0 || !strings.Contains(stdout, "0 probed now") || strings.Contains(stderr, "probed step") {
		t.Errorf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m, _ := models.Load(cps[len(cps)-1].Dir)
	if err := m.Save(train.StepDir(run, 100)); err != nil {
		t.Fatal(err)
	}
	stdout, _, _ = runBinary(t, "track", run, "--batch", "4", "--quiet")
	if !strings.Contains(stdout, "1 probed now") {
		t.Errorf("third run:\n%s", stdout)
	}

	// The page is opened in a browser in package report; here the command wrote it whole.
	if n := pageCharts(t, filepath.Join(run, "track", "track.html")); n != 7 {
		t.Errorf("%d charts, want 7", n)
	}
}

func TestTrackBadInput(t *testing.T) {
	run := t.TempDir()
	file := writeFile(t, run, "file", "x")
	mixed := t.TempDir()
	a, _ := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 20, AttnOnly: true})
	b, _ := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 20, AttnOnly: true})
	a.Save(train.StepDir(mixed, 0))
	b.Save(train.StepDir(mixed, 10))
	small := t.TempDir()
	c, _ := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 20, AttnOnly: true})
	c.Save(train.StepDir(small, 0))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no checkpoints", []string{"track", run}, "no checkpoints in"},
		{"a file", []string{"track", file}, "is a file, not a run directory"},
		{"missing", []string{"track", filepath.Join(run, "nope")}, "does not exist"},
		{"another architecture", []string{"track", mixed}, "has another architecture"},
		{"repeats longer than the context", []string{"track", small, "--len", "8"}, "exceed the context n_ctx=16"},
		{"threshold", []string{"track", small, "--threshold", "2"}, "--threshold"},
		{"no run", []string{"track"}, "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.args...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
	_ = probes.TrackJSONL
}
