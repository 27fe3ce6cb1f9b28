package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

func TestLensCommands(t *testing.T) {
	cfg := tinyConfig
	cfg.DVocab, cfg.InitializerRange = 257, 0.3 // the byte-level tokenizer's vocabulary
	dir := testmodel.Checkpoint(t, cfg)
	page := filepath.Join(t.TempDir(), "lens.html")
	out, err := cli(t, "lens", "--model", dir, "--text", "abcabc", "--answer", "a", "-o", page)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"logit lens", "embed", "L1", "mean KL", "report: " + page} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if pageCharts(t, page) != 2 {
		t.Errorf("%s: want the two heatmaps", page)
	}

	// Train on windows of a text file, then read the prompt through it.
	text := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	lensDir := filepath.Join(t.TempDir(), "tuned")
	out, err = cli(t, "lens", "train", "--model", dir, "--text-file", text, "--out", lensDir, "--steps", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "tuned lens saved to "+lensDir) || !strings.Contains(out, "held-out") {
		t.Errorf("lens train output:\n%s", out)
	}
	out, err = cli(t, "lens", "--model", dir, "--text", "abcabc", "--tuned", lensDir)
	if err != nil || !strings.Contains(out, "tuned lens") {
		t.Errorf("%v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"lens", "--model", dir},
		{"lens", "--model", dir, "--text", "ab", "--tuned", t.TempDir()},
		{"lens", "train", "--model", dir, "--out", lensDir},
		{"lens", "train", "--model", dir, "--text-file", text},
		{"lens", "train", "--model", dir, "--run", t.TempDir(), "--out", lensDir},
	} {
		if out, err := cli(t, bad...); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v\n%s", bad, err, out)
		}
	}
}
