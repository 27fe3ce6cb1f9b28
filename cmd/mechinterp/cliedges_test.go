package main

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

// TestVersion: `mechinterp version` prints one line naming the Go that built it.
func TestVersion(t *testing.T) {
	stdout, stderr, code := runBinary(t, "version")
	if code != 0 || !regexp.MustCompile(`^mechinterp \S+ \(go1\.\d+`).MatchString(stdout) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestGoVersionDocumented: README states the Go version go.mod requires (they once said
// 1.26 and 1.26.8).
func TestGoVersionDocumented(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Go " + string(m[1]) + " or later"; !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not say %q (go.mod: go %s)", want, m[1])
	}
}

// TestNoCarriageReturnsInLogs: with stderr not a terminal (a log file, a pipe), progress
// comes as whole lines or not at all, never lines redrawn with \r.
func TestNoCarriageReturnsInLogs(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	for _, args := range [][]string{
		{"superposition", "relu", "--steps", "10", "--seeds", "1", "--out", filepath.Join(t.TempDir(), "sp")},
		{"patch", "--model", dir, "--tokens-mode", "-o", "", "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "1", "--wrong", "2"},
	} {
		_, stderr, code := runBinary(t, args...)
		if code != 0 || strings.Contains(stderr, "\r") {
			t.Errorf("%s: exit %d, stderr %q", args[0], code, stderr)
		}
	}
}

// TestJSONWritesNoPageUnasked: --json prints JSON and writes no HTML file into the current
// directory unless -o asks for one.
func TestJSONWritesNoPageUnasked(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	wd := t.TempDir()
	for _, args := range [][]string{
		{"heads", "--model", dir, "--json", "--batch", "2"},
		{"circuits", "--model", dir, "--json"},
		{"patch", "--model", dir, "--json", "--tokens-mode", "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "1", "--wrong", "2"},
	} {
		stdout, stderr, code := runBinaryIn(t, wd, args...)
		if code != 0 || !strings.HasPrefix(strings.TrimSpace(stdout), "{") && !strings.HasPrefix(strings.TrimSpace(stdout), "[") {
			t.Errorf("%s --json: exit %d, stdout %.80q, stderr %q", args[0], code, stdout, stderr)
		}
	}
	if ents, _ := os.ReadDir(wd); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("--json wrote %v into the current directory", names)
	}
}

// runBinaryIn runs the built executable in the working directory dir ("" for the test's)
// and returns stdout, stderr and the exit code.
func runBinaryIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestModelIsARunDir: --model given a training run's directory names the checkpoints it
// holds instead of saying only "missing config.json".
func TestModelIsARunDir(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	testmodel.Run(t, runDir, tinyConfig, 0, 4, 8)
	_, stderr, code := runBinary(t, "heads", "--model", runDir, "--json")
	assertCleanFailure(t, stderr, code, "is a training run, not a checkpoint: it holds step-000000, step-000004, step-000008")
}

// TestNaNWeightsWarn: a checkpoint holding NaN or infinite weights loads, but the command
// warns that its outputs are NaN (it used to print p=NaN and exit 0 without a word).
func TestNaNWeightsWarn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nan")
	m := testmodel.New(t, tinyConfig)
	m.Params.Get("h.0.attn.c_attn.weight").Data[3] = float32(math.NaN())
	m.Params.Get("wte.weight").Data[0] = float32(math.Inf(1))
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ := runBinary(t, "heads", "--model", dir, "--json", "--batch", "2")
	if !strings.Contains(stderr, "holds 2 NaN or infinite weights (the first in wte.weight)") {
		t.Errorf("stderr %q, want a warning about the NaN weights", stderr)
	}
}
