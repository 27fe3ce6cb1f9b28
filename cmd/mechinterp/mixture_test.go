package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/train"
)

// mixtureYAML is tinyRunYAML with a repeated-data mixture (Hernandez et al.
// 2022): 12 steps × batch 4 = 48 sequences, a share f of them repeats seen
// E times; the budget and the held-out set are left for train to fill in.
func mixtureYAML(data string) string {
	return `
model:
  n_layers: 1
  n_heads: 2
  d_model: 16
  n_ctx: 16
data:
` + data + `
train:
  steps: 12
  batch_size: 4
  warmup: 2
  eval_every: 4
  eval_batches: 1
  checkpoints:
    every: 6
`
}

const syntheticData = `  kind: synthetic
  synthetic:
    vocab: 32
    min_span: 3
    max_span: 6`

// stepZeroEval is the held-out loss logged at step 0, before any update.
func stepZeroEval(t *testing.T, run string) float64 {
	t.Helper()
	ms, err := train.ReadMetrics(filepath.Join(run, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Step == 0 && m.EvalLoss != nil {
			return *m.EvalLoss
		}
	}
	t.Fatalf("%s: no held-out loss at step 0", run)
	return 0
}

func TestTrainMixture(t *testing.T) {
	dir := t.TempDir()
	run := func(name, data string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		cfg := writeFile(t, dir, name+".yaml", mixtureYAML(data))
		if msg, err := cli(t, "train", "--config", cfg, "--out", out, "--quiet"); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, msg)
		} else if !strings.Contains(msg, "trained to step 12") || !strings.Contains(msg, "held-out") {
			t.Fatalf("%s: output\n%s", name, msg)
		}
		return out
	}
	half := run("half", syntheticData+"\n  mixture:\n    fraction: 0.5\n    epochs: 3")
	yml, err := os.ReadFile(filepath.Join(half, "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// run.yaml records the budget and held-out set train filled in.
	for _, want := range []string{"mixture:\n    fraction: 0.5\n    epochs: 3\n    sequences: 48\n    held_out: 4\n"} {
		if !strings.Contains(string(yml), want) {
			t.Errorf("run.yaml lacks %q:\n%s", want, yml)
		}
	}
	// ... and reproduces the run.
	again := filepath.Join(dir, "again")
	if out, err := cli(t, "train", "--config", filepath.Join(half, "run.yaml"), "--out", again, "--quiet"); err != nil {
		t.Fatalf("train from run.yaml: %v\n%s", err, out)
	}
	if got, want := metricLosses(t, again), metricLosses(t, half); !slices.Equal(got, want) {
		t.Errorf("run.yaml does not reproduce the mixture run:\n got %v\nwant %v", got, want)
	}

	// The held-out set is the mixture's, the same for every f and E: at step
	// 0 (same initial model) two mixtures measure the same held-out loss,
	// and a run without a mixture (another held-out stream) another one.
	quarter := run("quarter", syntheticData+"\n  mixture:\n    fraction: 0.25\n    epochs: 2")
	plain := run("plain", syntheticData)
	if a, b := stepZeroEval(t, half), stepZeroEval(t, quarter); a != b {
		t.Errorf("step-0 held-out loss %g at f=0.5, %g at f=0.25: held-out sets differ", a, b)
	}
	if a, b := stepZeroEval(t, half), stepZeroEval(t, plain); a == b {
		t.Errorf("step-0 held-out loss %g with and without a mixture: the mixture's held-out set is not used", a)
	}

	// Over text, the corpus is read in order sequential, and run.yaml says so.
	corpus := writeFile(t, dir, "corpus.txt", randomWords(4000))
	text := run("text", fmt.Sprintf("  kind: text\n  text:\n    paths: [%q]\n  mixture:\n    fraction: 0.5\n    epochs: 2", corpus))
	yml, err = os.ReadFile(filepath.Join(text, "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(yml), `order: "sequential"`) {
		t.Errorf("run.yaml of a text mixture lacks order sequential:\n%s", yml)
	}
}

// randomWords returns about n bytes of pseudo-random words.
func randomWords(n int) string {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for b.Len() < n {
		for range 2 + rng.IntN(7) {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// TestTrainMixtureBadInput runs the real binary: a bad mixture ends with one
// error line and exit status 1, never a panic.
func TestTrainMixtureBadInput(t *testing.T) {
	dir := t.TempDir()
	small := writeFile(t, dir, "small.txt", randomWords(300)) // 17 windows of 17 tokens
	for _, c := range []struct {
		name, data, want string
	}{
		{"fraction 1.5", syntheticData + "\n  mixture:\n    fraction: 1.5\n    epochs: 2", "fraction must be in [0, 1), got 1.5"},
		{"no epochs", syntheticData + "\n  mixture:\n    fraction: 0.5", "epochs must be at least 1 when fraction > 0"},
		{"budget below the run", syntheticData + "\n  mixture:\n    fraction: 0.5\n    epochs: 2\n    sequences: 10", "data.mixture.sequences 10 is less than the 48 sequences"},
		{"empty subset", syntheticData + "\n  mixture:\n    fraction: 0.01\n    epochs: 2", "the repeated subset is empty"},
		{"corpus too small", fmt.Sprintf("  kind: text\n  text:\n    paths: [%q]\n  mixture:\n    fraction: 0.5\n    epochs: 2", small),
			"the text corpus holds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "run.yaml", mixtureYAML(c.data))
			_, stderr, code := runBinary(t, "train", "--config", cfg, "--out", filepath.Join(t.TempDir(), "run"), "--quiet")
			assertCleanFailure(t, stderr, code, c.want)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
		})
	}
}
