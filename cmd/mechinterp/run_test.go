package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

var tinyConfig = models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, AttnOnly: true, Seed: 3}

func TestRunPrintsPredictionsAndWritesFiles(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	out := t.TempDir()
	logits, cache := filepath.Join(out, "logits.safetensors"), filepath.Join(out, "cache.safetensors")
	stdout, err := cli(t, "run", "--model", dir, "--tokens", "3,14,15;1,2,3", "--top", "3",
		"--logits", logits, "--cache", cache, "--names", "blocks.*.attn.hook_pattern")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(stdout, "p=") != 6 || !strings.Contains(stdout, "sequence 1") {
		t.Errorf("unexpected output:\n%s", stdout)
	}
	ts, _, err := safetensors.Read(logits)
	if err != nil {
		t.Fatal(err)
	}
	if !ts["logits"].SameShape([]int{2, 3, 20}) {
		t.Errorf("logits shape %v", ts["logits"].Shape)
	}
	cs, _, err := safetensors.Read(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || !cs["blocks.1.attn.hook_pattern"].SameShape([]int{2, 2, 3, 3}) {
		t.Errorf("cache holds %d tensors: %v", len(cs), cs)
	}
	// The printed top token is the argmax of the written logits.
	m, _ := models.Load(dir)
	p, _ := m.Forward([]int{3, 14, 15}, 1, 3, nil, nil)
	best := 0
	row := p.Logits.Data[2*20:]
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	js, err := cli(t, "run", "--model", dir, "--tokens", "3,14,15", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Predictions [][]models.Prediction `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	if got.Predictions[0][0].Token != best {
		t.Errorf("top prediction %d, argmax %d", got.Predictions[0][0].Token, best)
	}
}

// A config file supplies flag values; a flag beats it.
func TestRunConfigFile(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	cfg := filepath.Join(t.TempDir(), "run.yaml")
	if err := os.WriteFile(cfg, []byte("model: "+dir+"\ntokens: 1,2,3\ntop: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, "run", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "p=") != 2 || !strings.Contains(out, "(3 tokens)") {
		t.Errorf("config file values not used:\n%s", out)
	}
	out, err = cli(t, "run", "--config", cfg, "--top", "4")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "p=") != 4 {
		t.Errorf("--top 4 did not beat the file's top: 2:\n%s", out)
	}
}

func TestRunText(t *testing.T) {
	cfg := tinyConfig
	cfg.DVocab = 257
	dir := testmodel.Checkpoint(t, cfg)
	out, err := cli(t, "run", "--model", dir, "--text", "hi!", "--top", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(3 tokens)") {
		t.Errorf("output %q", out)
	}
}

// Bad input ends with one clear line and a non-zero exit, never a panic.
func TestRunBadInput(t *testing.T) {
	good := testmodel.Checkpoint(t, tinyConfig)
	empty := t.TempDir()
	truncated := filepath.Join(t.TempDir(), "m")
	copyDir(t, good, truncated)
	st := filepath.Join(truncated, "model.safetensors")
	b, _ := os.ReadFile(st)
	os.WriteFile(st, b[:len(b)/2], 0o644)
	garbage := filepath.Join(t.TempDir(), "m")
	copyDir(t, good, garbage)
	os.WriteFile(filepath.Join(garbage, "model.safetensors"), []byte("not a safetensors file at all"), 0o644)
	mismatch := filepath.Join(t.TempDir(), "m")
	copyDir(t, good, mismatch)
	other := testmodel.Checkpoint(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 20, AttnOnly: true})
	b, _ = os.ReadFile(filepath.Join(other, "model.safetensors"))
	os.WriteFile(filepath.Join(mismatch, "model.safetensors"), b, 0o644)
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badConfig, []byte("model: [unclosed"), 0o644)
	unknownKey := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(unknownKey, []byte("modle: "+good+"\ntokens: 1,2\n"), 0o644)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing dir", []string{"run", "--model", filepath.Join(empty, "nope"), "--tokens", "1"}, "nope"},
		{"empty dir", []string{"run", "--model", empty, "--tokens", "1"}, "config.json"},
		{"truncated weights", []string{"run", "--model", truncated, "--tokens", "1"}, "model.safetensors"},
		{"garbage weights", []string{"run", "--model", garbage, "--tokens", "1"}, "model.safetensors"},
		{"config and weights disagree", []string{"run", "--model", mismatch, "--tokens", "1"}, "shape"},
		{"token out of range", []string{"run", "--model", good, "--tokens", "1,20"}, "out of range"},
		{"too many tokens", []string{"run", "--model", good, "--tokens", "1,1,1,1,1,1,1,1,1"}, "n_ctx"},
		{"not a number", []string{"run", "--model", good, "--tokens", "1,x"}, `"x"`},
		{"ragged batch", []string{"run", "--model", good, "--tokens", "1,2;3"}, "equally long"},
		{"text on small vocab", []string{"run", "--model", good, "--text", "hi"}, "vocabulary"},
		{"unknown hook", []string{"run", "--model", good, "--tokens", "1", "--cache", filepath.Join(empty, "c.st"), "--names", "blocks.9.hook_q"}, "blocks.9.hook_q"},
		{"unknown flag", []string{"run", "--modle", good}, "unknown flag"},
		{"no model", []string{"run", "--tokens", "1"}, "--model"},
		{"unknown command", []string{"runn"}, "unknown command"},
		{"invalid config file", []string{"run", "--config", badConfig}, "bad.yaml"},
		{"unknown config key", []string{"run", "--config", unknownKey}, `"modle"`},
		{"missing config file", []string{"run", "--config", filepath.Join(empty, "none.yaml")}, "none.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.args...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
	if _, err := os.Stat(filepath.Join(empty, "c.st")); err == nil {
		t.Error("a failed run left a cache file behind")
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
