package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// serveProcess is `mechinterp serve` running as a real process.
type serveProcess struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *bytes.Buffer
	done           chan struct{}
}

// startServe starts the built binary with args (which should listen on 127.0.0.1:0) and
// waits for it to print its URL.
func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &serveProcess{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.stdout.WriteString(line + "\n")
			if m := regexp.MustCompile(`at (http://\S+) `).FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.url = <-urls:
	case <-s.done:
		t.Fatalf("serve exited before listening: %s", s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not print its URL")
	}
	return s
}

// interrupt sends Ctrl-C and returns the exit code.
func (s *serveProcess) interrupt(t *testing.T) int {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
	return s.cmd.ProcessState.ExitCode()
}

// testRun writes a run directory with two checkpoints of different weights, at steps 0 and 100.
func testRun(t *testing.T) string {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	for i, step := range []int{0, 100} {
		cfg := attnConfig
		cfg.Seed = uint64(10 + i)
		m, err := models.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Save(train.StepDir(run, step)); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// TestServeEndToEnd runs `mechinterp serve --run` as a process and drives it from Chromium over
// loopback: the start prompt, a typed prompt and the first checkpoint all show the model's
// hook_pattern; an oversized prompt is refused with a message in the page; a prompt longer
// than --max-tokens is refused by the API; Ctrl-C stops the server cleanly.
func TestServeEndToEnd(t *testing.T) {
	browsertest.Require(t)
	run := testRun(t)
	s := startServe(t, "--run", run, "--addr", "127.0.0.1:0", "--tokens", attnPrompt, "--max-prompt-bytes", "100", "--max-tokens", "14")
	if !strings.Contains(s.stdout.String(), "(2 checkpoints)") {
		t.Errorf("stdout %q", s.stdout)
	}
	step100, step0 := train.StepDir(run, 100), train.StepDir(run, 0)

	p := browsertest.Open(t, s.url, browsertest.NoAutoCheck())
	p.WaitFor(`mechinterp.attention.ready && mechinterp.attention.model.step === 100`)
	ids := parseIDs(attnPrompt)
	checkWeights(t, p, hookPatterns(t, step100, ids), 3, len(ids), 0.5/65535+1e-7)

	// Type a prompt (token ids: the model has no tokenizer) and run it with Ctrl+Enter.
	typed := "5,4,3,2,1,5,4,3,2,1"
	p.Eval(`document.getElementById("mi-attn-prompt").value = ""`, nil)
	p.Click("#mi-attn-prompt")
	p.Press(typed)
	p.Click("#mi-attn-run")
	p.WaitFor(`mechinterp.attention.model.T === 10`)
	ids = parseIDs(typed)
	pats := hookPatterns(t, step100, ids)
	checkWeights(t, p, pats, 3, len(ids), 0.5/65535+1e-7)
	clickHead(p, 1, 0)
	if got, want := tooltipAt(t, p, 9, 4), float64(pats[1][9*10+4]); math.Abs(got-want) > 0.5/65535+0.5e-5 {
		t.Errorf("tooltip %g, hook_pattern %g", got, want)
	}

	// Step back to the first checkpoint: its own patterns, the lock kept.
	p.Click("#mi-attn-prev")
	p.WaitFor(`mechinterp.attention.model.step === 0 && mechinterp.attention.locked`)
	checkWeights(t, p, hookPatterns(t, step0, ids), 3, len(ids), 0.5/65535+1e-7)

	// Oversized prompt: refused with a message, the page and server carry on.
	p.Eval(`document.getElementById("mi-attn-prompt").value = "1,".repeat(60) + "1"`, nil)
	p.Click("#mi-attn-run")
	p.WaitFor(`!document.getElementById("mi-attn-error").hidden`)
	var msg string
	p.Eval(`document.getElementById("mi-attn-error").textContent`, &msg)
	if msg != "the prompt is 121 bytes; this server accepts at most 100" {
		t.Errorf("error shown %q", msg)
	}
	// A bad token id: the model's message.
	p.Eval(`document.getElementById("mi-attn-prompt").value = "1,2,99"`, nil)
	p.Click("#mi-attn-run")
	p.WaitFor(`document.getElementById("mi-attn-error").textContent.includes("token id 99 at position 2 is out of range [0,20)")`)
	p.Eval(`document.getElementById("mi-attn-prompt").value = "1,2,3"`, nil)
	p.Click("#mi-attn-run")
	p.WaitFor(`mechinterp.attention.model.T === 3 && document.getElementById("mi-attn-error").hidden`)
	for _, pr := range p.Problems() {
		if !strings.Contains(pr, "status of 413") && !strings.Contains(pr, "status of 422") {
			t.Errorf("problem: %s", pr)
		}
	}
	p.Screenshot("serve")

	// Over --max-tokens, through the API.
	res, err := http.Post(s.url+"api/attention", "application/json", strings.NewReader(`{"prompt": "`+strings.Repeat("1,", 15)+`1", "tokens": true, "checkpoint": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var v struct{ Error string }
	json.Unmarshal(b, &v)
	if res.StatusCode != 422 || v.Error != "the prompt is 16 tokens; this server shows at most 14 (--max-tokens)" {
		t.Errorf("16 tokens: %d %q", res.StatusCode, v.Error)
	}

	if code := s.interrupt(t); code != 0 {
		t.Errorf("exit code %d after Ctrl-C; stderr %s", code, s.stderr)
	}
	if !strings.HasSuffix(s.stdout.String(), "stopped\n") {
		t.Errorf("stdout %q does not end with stopped", s.stdout)
	}
	if strings.Contains(s.stderr.String(), "panic") {
		t.Errorf("stderr: %s", s.stderr)
	}
}

// TestServeModel serves one model on a free port with the default start prompt (r + r).
func TestServeModel(t *testing.T) {
	dir := tinyCheckpoint(t, attnConfig)
	s := startServe(t, "--model", dir, "--addr", "127.0.0.1:0", "--roles=false")
	res, err := http.Get(s.url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// The start prompt is r + r with |r| = n_ctx/2 = 8, as token ids.
	m := regexp.MustCompile(`"prompt":"([0-9,]+)","tokensMode":true,"noText":true`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("page config lacks the start prompt in token mode")
	}
	ids := strings.Split(string(m[1]), ",")
	if len(ids) != 16 || strings.Join(ids[:8], ",") != strings.Join(ids[8:], ",") {
		t.Errorf("start prompt %s is not r + r with |r| = 8", m[1])
	}
	res, err = http.Post(s.url+"api/attention", "application/json", strings.NewReader(`{"prompt": "1,2,3", "tokens": true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("prompt answered %d", res.StatusCode)
	}
	if code := s.interrupt(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestServeErrors(t *testing.T) {
	dir := tinyCheckpoint(t, attnConfig)
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"neither", []string{"serve"}, "give --model DIR or --run RUN_DIR"},
		{"both", []string{"serve", "--model", dir, "--run", empty}, "give --model DIR or --run RUN_DIR (one of them)"},
		{"run without checkpoints", []string{"serve", "--run", empty}, "no checkpoints in"},
		{"missing run", []string{"serve", "--run", filepath.Join(empty, "nope")}, "nope"},
		{"bad start tokens", []string{"serve", "--model", dir, "--tokens", "1,99"}, "token id 99 at position 1 is out of range"},
		{"bad address", []string{"serve", "--model", dir, "--addr", "127.0.0.1:99999"}, "invalid port"},
		{"bad bits", []string{"serve", "--model", dir, "--bits", "3", "--addr", "127.0.0.1:0"}, "Bits is 3"},
		{"bad max tokens", []string{"serve", "--model", dir, "--max-tokens", "0"}, "--max-tokens must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tt.args...)
			assertCleanFailure(t, stderr, code, tt.want)
		})
	}
	if _, err := os.Stat(filepath.Join(empty, "nope")); err == nil {
		t.Error("serve created the missing run directory")
	}
}
