package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/run"
)

// TestResumeHintWorks interrupts `train` through the binary (SIGINT), then runs the
// resume hint it printed exactly as printed: it must continue the run to its end. Before,
// `--resume --out DIR` ignored DIR/run.yaml, resumed the defaults and failed with two Go
// structs. Resuming with a changed config must instead name the key that differs.
func TestResumeHintWorks(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "long.yaml", strings.Replace(tinyRunYAML, "steps: 12", "steps: 100000", 1))
	out := filepath.Join(dir, "run")
	cmd := exec.Command(binary(t), "train", "--config", cfg, "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once a few steps are logged.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(out, run.MetricsFile)); bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no metrics after 20 s")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	msg := strings.TrimSpace(stderr.String())
	_, hint, ok := strings.Cut(msg, "continue with ")
	if !ok || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("interrupted train: exit %d, stderr %q; want exit 1 and a resume hint", cmd.ProcessState.ExitCode(), msg)
	}
	// Resume exactly as printed; the run is long, so interrupt it again once it has
	// trained a few more steps.
	args := append([]string{"train"}, strings.Fields(hint)...)
	if want := []string{"train", "--resume", "--out", out}; strings.Join(args, " ") != strings.Join(want, " ") {
		t.Fatalf("hint %q, want %q", hint, strings.Join(want[1:], " "))
	}
	resumed := exec.Command(binary(t), args...)
	var rerr bytes.Buffer
	resumed.Stderr = &rerr
	if err := resumed.Start(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, run.MetricsFile))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(out, run.MetricsFile))
		if bytes.Count(b, []byte("\n")) > bytes.Count(before, []byte("\n"))+2 {
			break
		}
		if time.Now().After(deadline) || resumed.ProcessState != nil {
			resumed.Process.Kill()
			resumed.Wait()
			t.Fatalf("the hint did not resume training: %s", rerr.String())
		}
	}
	resumed.Process.Signal(syscall.SIGINT)
	resumed.Wait()
	if !strings.Contains(rerr.String(), "continue with --resume --out") {
		t.Errorf("resumed run interrupted: %q", rerr.String())
	}

	// A changed config names what changed.
	changed := writeFile(t, dir, "changed.yaml", strings.Replace(strings.Replace(tinyRunYAML, "steps: 12", "steps: 100000", 1), "n_heads: 2", "n_heads: 4", 1))
	_, stderrText, code := runBinary(t, "train", "--config", changed, "--out", out, "--resume")
	assertCleanFailure(t, stderrText, code, "model.n_heads was 2, now 4")
}
