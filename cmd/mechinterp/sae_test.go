package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
)

// saeFixture is a small MLP checkpoint (byte vocabulary) and a text corpus.
func saeFixture(t *testing.T) (model, corpus string) {
	t.Helper()
	model = testmodel.Checkpoint(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 257, Seed: 1})
	corpus = filepath.Join(t.TempDir(), "corpus.txt")
	text := strings.Repeat("// Read reads up to len(p) bytes into p.\nfunc (f *File) Read(p []byte) (n int, err error)\n", 30)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return model, corpus
}

func TestSAETrainEval(t *testing.T) {
	model, corpus := saeFixture(t)
	out := filepath.Join(t.TempDir(), "sae")
	got, err := cli(t, "sae", "train", "--model", model, "--hook", "blocks.0.mlp.hook_post", "--data", corpus,
		"--width", "64", "--k", "4", "--steps", "50", "--batch", "32", "--buffer", "512", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "topk SAE, 64 features: l0 4.00") {
		t.Errorf("output %q", got)
	}
	for _, f := range []string{sae.CfgFile, sae.WeightsFile, sae.SparsityFile, sae.ResultFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	js, err := cli(t, "sae", "eval", "--model", model, "--sae", out, "--data", corpus, "--batches", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	for _, k := range []string{"l0", "explained_variance", "mse", "ce_loss_score", "kl", "dead", "dense"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in %s", k, js)
		}
	}
	rep := filepath.Join(t.TempDir(), "report")
	got, err = cli(t, "sae", "report", "--model", model, "--sae", out, "--data", corpus, "--contexts", "16", "--out", rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "neurons median") {
		t.Errorf("report output %q", got)
	}
	for _, f := range []string{"index.html", "neurons.html", "features.html", "neurons-vs-features.html", "concentration.json"} {
		if _, err := os.Stat(filepath.Join(rep, f)); err != nil {
			t.Error(err)
		}
	}
	for _, args := range [][]string{
		{"neurons", "--model", model, "--layer", "3", "--data", corpus},
		{"features", "--model", model, "--data", corpus},
		{"sae", "train", "--model", model, "--hook", "blocks.4.mlp.hook_post", "--data", corpus, "--out", out},
		{"sae", "train", "--model", model, "--hook", "blocks.0.mlp.hook_post", "--data", corpus, "--arch", "gated", "--out", out},
		{"sae", "eval", "--model", model, "--sae", filepath.Join(t.TempDir(), "none"), "--data", corpus},
	} {
		if _, err := cli(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
