package main

import (
	"bytes"
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

// runBinaryIn is runBinary with the working directory dir.
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
