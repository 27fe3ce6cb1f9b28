package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// cli runs the command in-process, as a user would from the shell, and
// returns what it printed and its error.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestMain removes the binary built for the tests, if any, and stops the browser that the
// page tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the real mechinterp executable once per test run, for tests
// that check exit codes and that nothing panics.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mechinterp-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mechinterp")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct{ out string }

func (e *buildError) Error() string { return "go build: " + e.out }

// runBinary runs the built executable and returns stdout, stderr and the
// exit code.
func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runBinaryIn(t, "", args...)
}

// assertCleanFailure checks the project's rule for bad input: a non-zero
// exit and one clear error line, never a panic trace.
func assertCleanFailure(t *testing.T, stderr string, code int, want string) {
	t.Helper()
	if code == 0 {
		t.Errorf("exit code 0; stderr %q", stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("panic trace on stderr:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 {
		t.Errorf("want one error line, got %d:\n%s", len(lines), stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not mention %q", stderr, want)
	}
}

// TestHelpFiles checks that every help/NAME.txt is some command's long description
// (addHelp matches them by the command's path): a renamed command would lose its help.
func TestHelpFiles(t *testing.T) {
	used := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() && c.Long != "" {
			used[helpName(c)] = true
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	files, err := helpFiles.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(f.Name(), ".txt"); !used[name] {
			t.Errorf("help/%s is no command's help", f.Name())
		}
	}
}
