package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// demoTestSteps is the reduced budget of the end-to-end demo test: the
// recipe's loss bump comes at step ~850-1000, so by 1100 the induction head
// has formed. Set MECHINTERP_DEMO_TEST_STEPS to change it (0: the full
// recipe); below 1100 the head is not checked.
const demoTestSteps = 1100

// TestDemoFormsInductionHead runs the demo on a reduced budget and checks
// its run directory and summary, and that an induction head formed: a
// layer-1 head whose prefix-matching score exceeds 0.5 on [BOS]+r+r at each
// measured |r| (25, and 31, longer than any r in training).
func TestDemoFormsInductionHead(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for a minute")
	}
	steps := demoTestSteps
	if s := os.Getenv("MECHINTERP_DEMO_TEST_STEPS"); s != "" {
		var err error
		if steps, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
		if steps == 0 {
			steps = demoSteps
		}
	}
	full := steps >= demoTestSteps
	out := filepath.Join(t.TempDir(), "demo")
	var w bytes.Buffer
	d, err := runDemo(context.Background(), out, &w, demoOptions{steps: steps})
	t.Logf("demo output:\n%s", w.String())
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Load(d.Checkpoints[len(d.Checkpoints)-1].Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range prefixLens {
		s, err := prefixMatching(m, d.Config.Data.Synthetic.EvalRepeated(n, 2), n, 7) // a seed the demo did not use
		if err != nil {
			t.Fatal(err)
		}
		best := 0.0
		for _, x := range s {
			best = max(best, x)
		}
		t.Logf("|r| = %d: layer-1 prefix matching %.3f", n, s)
		if full && best < 0.5 {
			t.Errorf("|r| = %d: best layer-1 prefix-matching score %.3f, want > 0.5 (an induction head)", n, best)
		}
	}
	wants := []string{out, "metrics.jsonl", "checkpoints", "run.yaml", "held-out loss"}
	if full {
		wants = append(wants, "an induction head formed")
	}
	ms, err := train.ReadMetrics(d.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := *ms[0].EvalLoss, d.Train.EvalLoss; !(last < first-0.3) {
		t.Errorf("held-out loss %.3f -> %.3f: did not fall", first, last)
	}
	for _, want := range wants {
		if !strings.Contains(w.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if len(d.Checkpoints) < 10 || d.Checkpoints[0].Step != 0 || d.Checkpoints[len(d.Checkpoints)-1].Step != steps {
		t.Errorf("checkpoints %v", d.Checkpoints)
	}

	// Run again: the finished demo is reported, not retrained.
	w.Reset()
	d2, err := runDemo(context.Background(), out, &w, demoOptions{steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Train.ResumedFrom != steps || !strings.Contains(w.String(), "complete") {
		t.Errorf("second run: resumed from %d\n%s", d2.Train.ResumedFrom, w.String())
	}
}

// TestDemoCommand runs the command itself for a few steps.
func TestDemoCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	got, err := cli(t, "demo", "--out", out, "--steps", "3", "--quiet")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, got)
	}
	for _, want := range []string{"run directory: " + out, filepath.Join(out, train.MetricsFile), "prefix matching"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "run.yaml")); err != nil {
		t.Error(err)
	}
}

// TestPrefixMatchingUniform: at initialization attention is nearly uniform,
// so each score is close to the mean of 1/(q+1) over the measured queries.
func TestPrefixMatchingUniform(t *testing.T) {
	rc := demoConfig()
	m, err := models.New(rc.Model)
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	s, err := prefixMatching(m, rc.Data.Repeated, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for q := n + 1; q < 2*n; q++ {
		want += 1 / float64(q+1)
	}
	want /= float64(n - 1)
	for h, x := range s {
		if x < 0.8*want || x > 1.2*want {
			t.Errorf("head %d: score %.4f at initialization, want about %.4f", h, x, want)
		}
	}
}
