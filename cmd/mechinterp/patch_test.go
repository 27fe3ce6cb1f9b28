package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

func TestPatchCommandTokens(t *testing.T) {
	cfg := tinyConfig
	cfg.InitializerRange = 0.3
	dir := testmodel.Checkpoint(t, cfg)
	html := filepath.Join(t.TempDir(), "p.html")
	out, err := cli(t, "patch", "--model", dir, "--tokens-mode", "--clean", "3,7,1,7,2", "--corrupted", "3,8,1,7,2",
		"--answer", "1", "--wrong", "4", "-o", html, "--top", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"clean ", "corrupted ", "top heads", "direct logit attribution", "top cells", "report: " + html} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if pageCharts(t, html) == 0 {
		t.Errorf("%s has no chart", html)
	}

	js, err := cli(t, "patch", "--model", dir, "--tokens-mode", "--clean", "3,7,1,7,2", "--corrupted", "3,8,1,7,2",
		"--answer", "1", "--wrong", "4", "-o", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Activation struct {
			CleanDiff float64     `json:"clean_diff"`
			Resid     [][]float64 `json:"resid"`
		}
		DLA struct {
			LogitDiff float64 `json:"logit_diff"`
		}
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("%v:\n%s", err, js)
	}
	// Patching the corrupted position before layer 0 restores the clean run.
	if r := got.Activation.Resid; len(r) != 3 || r[0][1] < 0.999 || r[0][1] > 1.001 {
		t.Errorf("resid patching %v", r)
	}
	if d := got.DLA.LogitDiff - got.Activation.CleanDiff; d > 1e-5 || d < -1e-5 {
		t.Errorf("DLA logit diff %g, clean %g", got.DLA.LogitDiff, got.Activation.CleanDiff)
	}
}

func TestPatchCommandText(t *testing.T) {
	cfg := tinyConfig
	cfg.DVocab, cfg.InitializerRange = 257, 0.3
	dir := testmodel.Checkpoint(t, cfg)
	out, err := cli(t, "patch", "--model", dir, "--clean", "abcab", "--corrupted", "abdab", "--answer", "c", "--wrong", "d", "-o", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `logit("c") - logit("d")`) {
		t.Errorf("output:\n%s", out)
	}
}

func TestPatchBadInput(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	text := tinyConfig
	text.DVocab = 257
	textDir := testmodel.Checkpoint(t, text)
	base := []string{"patch", "--model", dir, "--tokens-mode", "-o", ""}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"different lengths", append(base, "--clean", "1,2,3", "--corrupted", "1,2", "--answer", "1", "--wrong", "2"), "equal lengths"},
		{"longer than the context", append(base, "--clean", "1,2,3,4,5,6,7,8,9", "--corrupted", "1,2,3,4,5,6,7,8,8", "--answer", "1", "--wrong", "2"), "n_ctx"},
		{"answer out of vocabulary", append(base, "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "20", "--wrong", "2"), "out of the vocabulary"},
		{"answer not an id", append(base, "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "x", "--wrong", "2"), "not a token id"},
		{"missing wrong", append(base, "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "1"), "--wrong"},
		{"multi-token answer", []string{"patch", "--model", textDir, "-o", "", "--clean", "abc", "--corrupted", "abd", "--answer", "xy", "--wrong", "d"}, "exactly one"},
		// patch has --tokens-mode, not --tokens: its hint once named the latter.
		{"text without a tokenizer", []string{"patch", "--model", dir, "-o", "", "--clean", "abc", "--corrupted", "abd", "--answer", "c", "--wrong", "d"}, "--clean: text needs a model whose vocabulary holds the 257 byte-level tokens"},
		{"not a checkpoint", []string{"patch", "--model", t.TempDir(), "--clean", "a", "--corrupted", "b", "--answer", "a", "--wrong", "b"}, "config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.args...)
			assertCleanFailure(t, stderr, code, tc.want)
			if strings.Contains(stderr, "--tokens ") || strings.Contains(stderr, "--tokens)") || strings.Contains(stderr, "--text") {
				t.Errorf("patch names flags it does not have: %s", stderr)
			}
		})
	}
}
