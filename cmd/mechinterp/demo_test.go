package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/train"
)

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
