package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLabCommands runs the alignment lab end to end at a tiny scale: a
// policy and a preference model, best-of-n, OOD, attribution, generation
// and a study, each printing its table and writing its page.
func TestLabCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prefs.yaml")
	if err := os.WriteFile(cfg, []byte("model: {n_layers: 1, d_model: 8, n_heads: 2}\ntrain_comparisons: 200\neval_comparisons: 50\ntrain: {steps: 10, batch: 8}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pm, policy := filepath.Join(dir, "pm"), filepath.Join(dir, "policy")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"prefs", "train", "--config", cfg, "--out", pm, "--quiet"}, "against the true reward: Spearman"},
		{[]string{"prefs", "train", "--config", cfg, "--out", policy, "--objective", "imitation", "--quiet"}, "objective imitation"},
		{[]string{"prefs", "report", pm}, "held out: loss"},
		{[]string{"bestofn", "--policy", filepath.Join(policy, "model"), "--pm", filepath.Join(pm, "model"), "--prompts", "2", "--samples", "8", "-o", filepath.Join(dir, "bon.html")}, "sqrt KL"},
		{[]string{"ood", "--model", filepath.Join(pm, "model"), "--n", "40", "-o", filepath.Join(dir, "ood.html")}, "blocks.0.hook_resid_post"},
		{[]string{"prefs", "attribute", "--pm", filepath.Join(pm, "model"), "--n", "5", "-o", filepath.Join(dir, "attr.html")}, "recovers"},
		{[]string{"generate", "--model", filepath.Join(policy, "model"), "--tokens", "0,3,4", "--new", "4", "--samples", "2"}, "[0 3 4"},
	} {
		out, err := cli(t, c.args...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%v printed %q, want %q in it", c.args, out, c.want)
		}
	}
	for _, page := range []string{filepath.Join(pm, "index.html"), filepath.Join(dir, "bon.html"), filepath.Join(dir, "ood.html"), filepath.Join(dir, "attr.html")} {
		if _, err := os.Stat(page); err != nil {
			t.Errorf("page: %v", err)
		}
	}
}

func TestLabCommandsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("train: {stepz: 3}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"prefs", "train"}, "--out is required"},
		{[]string{"prefs", "train", "--out", dir, "--objective", "ranked"}, "unknown objective"},
		{[]string{"prefs", "train", "--out", dir, "--config", bad}, "stepz"},
		{[]string{"prefs", "report", filepath.Join(dir, "missing")}, "results.json"},
		{[]string{"bestofn", "--policy", dir}, "--policy and --pm are required"},
		{[]string{"bestofn", "--policy", filepath.Join(dir, "nope"), "--pm", dir}, "does not exist"},
		{[]string{"ood"}, "--model is required"},
		{[]string{"prefs", "study", "--out", dir, "--shard", "x"}, "--shard"},
		{[]string{"prefs", "attribute"}, "--pm is required"},
	} {
		_, err := cli(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q", c.args, err, c.want)
		}
	}
}
