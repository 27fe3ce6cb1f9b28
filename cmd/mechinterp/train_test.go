package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

const tinyRunYAML = `
model:
  n_layers: 1
  n_heads: 2
  d_model: 16
  n_ctx: 16
data:
  kind: synthetic
  synthetic:
    vocab: 32
    min_span: 3
    max_span: 6
train:
  steps: 12
  batch_size: 4
  warmup: 2
  eval_every: 4
  eval_batches: 1
  checkpoints:
    every: 5
`

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func metricLosses(t *testing.T, run string) []float64 {
	t.Helper()
	ms, err := train.ReadMetrics(filepath.Join(run, train.MetricsFile))
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

func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tiny.yaml", tinyRunYAML)
	run := filepath.Join(dir, "run")
	out, err := cli(t, "train", "--config", cfg, "--out", run, "--quiet")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	for _, want := range []string{"trained to step 12", run, train.MetricsFile, "checkpoints"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	cps, err := train.Checkpoints(run)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, c := range cps {
		steps = append(steps, c.Step)
	}
	if want := []int{0, 1, 2, 4, 5, 8, 10, 12}; !slices.Equal(steps, want) {
		t.Errorf("checkpoint steps %v, want %v", steps, want)
	}
	m, err := models.Load(train.StepDir(run, 12))
	if err != nil {
		t.Fatalf("final checkpoint: %v", err)
	}
	if m.Config.DVocab != 32 || m.Config.Positional != models.PosStandard {
		t.Errorf("model config %+v", m.Config)
	}
	want := metricLosses(t, run)
	if len(want) != 12 {
		t.Fatalf("%d losses logged", len(want))
	}

	// The resolved run.yaml is itself a config that reproduces the run.
	again := filepath.Join(dir, "again")
	if out, err := cli(t, "train", "--config", filepath.Join(run, "run.yaml"), "--out", again, "--quiet"); err != nil {
		t.Fatalf("train from run.yaml: %v\n%s", err, out)
	}
	if got := metricLosses(t, again); !slices.Equal(got, want) {
		t.Errorf("run.yaml does not reproduce the run:\n got %v\nwant %v", got, want)
	}

	// A finished run resumes to nothing; a fresh start over it is refused.
	if out, err := cli(t, "train", "--config", cfg, "--out", run, "--resume"); err != nil || !strings.Contains(out, "complete at step 12") {
		t.Errorf("resume of a finished run: %v\n%s", err, out)
	}
	if _, err := cli(t, "train", "--config", cfg, "--out", run); err == nil || !strings.Contains(err.Error(), "already holds checkpoints") {
		t.Errorf("training over an existing run: err = %v", err)
	}

	// Empty sections are fine.
	empty := writeFile(t, dir, "empty.yaml", "model:\ndata:\ntrain:\n  steps: 2\n  warmup: 1\n  checkpoints:\n")
	if out, err := cli(t, "train", "--config", empty, "--out", filepath.Join(dir, "empty"), "--quiet"); err != nil {
		t.Errorf("config with empty sections: %v\n%s", err, out)
	}

	// Environment beats the file.
	t.Setenv("MECHINTERP_TRAIN_STEPS", "3")
	env := filepath.Join(dir, "env")
	if _, err := cli(t, "train", "--config", cfg, "--out", env, "--quiet"); err != nil {
		t.Fatal(err)
	}
	if got := metricLosses(t, env); len(got) != 3 || !slices.Equal(got, want[:3]) {
		t.Errorf("MECHINTERP_TRAIN_STEPS=3: losses %v (want the first 3 of %v)", got, want)
	}
}

func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yaml string
		args       []string
		env        [2]string
		want       []string
	}{
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, want: []string{"nope.yaml", "no such file"}},
		{name: "malformed YAML", yaml: "train: [\n", want: []string{"reading config file", "yaml"}},
		{name: "unknown key", yaml: "train:\n  lrr: 1\n", want: []string{`unknown key "train.lrr"`}},
		{name: "unknown section", yaml: "optimizer:\n  lr: 1\n", want: []string{`unknown key "optimizer.lr"`}},
		{name: "section is a number", yaml: "model: 3\n", want: []string{"model"}},
		{name: "invalid value", yaml: "train:\n  lr: -1\n", want: []string{"lr must be positive"}},
		{name: "wrong type", yaml: "model:\n  n_layers: two\n", want: []string{"model.n_layers"}},
		{name: "bad env", yaml: "train:\n  steps: 2\n", env: [2]string{"MECHINTERP_TRAIN_BATCH_SIZE", "many"}, want: []string{"train.batch_size"}},
		{name: "bad data", yaml: "data:\n  kind: pictures\n", want: []string{`kind "pictures"`}},
		{name: "context too short", yaml: "model:\n  n_ctx: 16\ntrain:\n  steps: 1\n  warmup: 0\n", want: []string{"context 16 is too short"}},
		{name: "unknown flag", args: []string{"--learning-rate", "1"}, want: []string{"unknown flag: --learning-rate"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			args := append([]string{"train", "--out", filepath.Join(t.TempDir(), "run"), "--quiet"}, c.args...)
			if c.yaml != "" {
				args = append(args, "--config", writeFile(t, t.TempDir(), "run.yaml", c.yaml))
			}
			_, err := cli(t, args...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines:\n%s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestTrainInterruptBinary sends SIGINT to a real training process: it
// stops after the current step with a checkpoint of it, one error line and
// exit status 1; --resume then finishes the run with the losses of an
// uninterrupted one.
func TestTrainInterruptBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tiny.yaml", strings.Replace(tinyRunYAML, "steps: 12", "steps: 400", 1))
	whole := filepath.Join(dir, "whole")
	if _, stderr, code := runBinary(t, "train", "--config", cfg, "--out", whole); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	run := filepath.Join(dir, "run")
	cmd := exec.Command(bin, "train", "--config", cfg, "--out", run)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for step 16's checkpoint, then interrupt.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(train.StepDir(run, 16)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint at step 16 after 60 s")
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("interrupted run: %v (stderr %q)", err, stderr.String())
	}
	assertCleanFailure(t, stderr.String(), ee.ExitCode(), "--resume")
	latest, ok, _ := train.Latest(run)
	if !ok || latest.Step < 16 || latest.Step >= 400 {
		t.Fatalf("latest checkpoint after the interrupt: %+v", latest)
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("at step %d", latest.Step)) {
		t.Errorf("message %q does not name step %d", stderr.String(), latest.Step)
	}
	if _, stderr, code := runBinary(t, "train", "--config", cfg, "--out", run, "--resume"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if got, want := metricLosses(t, run), metricLosses(t, whole); !slices.Equal(got, want) {
		t.Errorf("interrupted and resumed run logged other losses than the uninterrupted one")
	}
}
