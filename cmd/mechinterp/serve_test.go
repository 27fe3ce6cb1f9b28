package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/train"
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
	return startServeBinary(t, binary(t), nil, args...)
}

// startServeBinary is startServe with another build of the binary and extra environment.
func startServeBinary(t *testing.T, bin string, env []string, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
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
		m := testmodel.New(t, cfg)
		if err := m.Save(train.StepDir(run, step)); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// askServer posts one prompt to a running server's API and returns the status and the answer.
func askServer(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url+"api/attention", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, v
}

// TestServeEndToEnd runs `mechinterp serve --run` as a process and asks it over loopback: the
// page offers both checkpoints and the start prompt; a prompt on each checkpoint is answered
// with that checkpoint's step; an oversized prompt, a bad token id and a prompt longer than
// --max-tokens are refused with their messages; Ctrl-C stops the server cleanly. What the page
// does in a browser is tested in viz/attention, and that the answers are the model's
// hook_pattern too.
func TestServeEndToEnd(t *testing.T) {
	run := testRun(t)
	s := startServe(t, "--run", run, "--addr", "127.0.0.1:0", "--tokens", attnPrompt, "--max-prompt-bytes", "100", "--max-tokens", "14", "--roles=false")
	if !strings.Contains(s.stdout.String(), "(2 checkpoints)") {
		t.Errorf("stdout %q", s.stdout)
	}
	res, err := http.Get(s.url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `"checkpoints":[{"step":0},{"step":100}],"prompt":"` + attnPrompt + `","tokensMode":true`; !strings.Contains(string(page), want) {
		t.Errorf("page config lacks %s", want)
	}
	for i, step := range []float64{0, 100} {
		code, v := askServer(t, s.url, fmt.Sprintf(`{"prompt": "5,4,3,2,1,5,4,3,2,1", "tokens": true, "checkpoint": %d}`, i))
		if code != 200 || v["step"] != step || len(v["tokens"].([]any)) != 10 || v["layers"] != 2.0 || v["heads"] != 3.0 {
			t.Errorf("checkpoint %d: %d, step %v, tokens %v, %v × %v heads", i, code, v["step"], v["tokens"], v["layers"], v["heads"])
		}
	}
	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"prompt": "` + strings.Repeat("1,", 60) + `1", "tokens": true}`, 413, "the prompt is 121 bytes; this server accepts at most 100"},
		{`{"prompt": "1,2,99", "tokens": true}`, 422, "token id 99 at position 2 is out of range [0,20)"},
		{`{"prompt": "` + strings.Repeat("1,", 15) + `1", "tokens": true, "checkpoint": 1}`, 422, "the prompt is 16 tokens; this server shows at most 14"},
		// The page has no command-line flags: its errors name none (they once said --tokens).
		{`{"prompt": "1,x", "tokens": true}`, 422, `"x" is not a token id`},
		{`{"prompt": "hi"}`, 422, "holds the 257 byte-level tokens"},
	} {
		code, v := askServer(t, s.url, tt.body)
		if msg := fmt.Sprint(v["error"]); code != tt.code || !strings.Contains(msg, tt.want) || strings.Contains(msg, "--") {
			t.Errorf("%.40s: %d %q, want %d %q and no flag", tt.body, code, v["error"], tt.code, tt.want)
		}
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
	dir := testmodel.Checkpoint(t, attnConfig)
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
	dir := testmodel.Checkpoint(t, attnConfig)
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

// TestServeWorkerPanic runs `mechinterp serve` built with the fault hook of
// internal/parallel (set at link time; empty in real builds): while the fault file exists,
// every worker goroutine a model starts panics, as a bad shape once made it. The request
// that meets the panic is answered with the error, and the next request, the file gone, is
// served: before workers handed panics back, the first ended the whole server (issue 19).
func TestServeWorkerPanic(t *testing.T) {
	fault := filepath.Join(t.TempDir(), "fault")
	bin := filepath.Join(t.TempDir(), "mechinterp-fault")
	out, err := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/mechinterp/mechinterp/internal/parallel.faultFile="+fault, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := testmodel.Checkpoint(t, attnConfig)
	s := startServeBinary(t, bin, []string{"GOMAXPROCS=4"}, "--model", dir, "--addr", "127.0.0.1:0", "--roles=false")
	if err := os.WriteFile(fault, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	prompt := `{"prompt": "1,2,3,4,5,6,7,8,1,2,3,4,5,6,7,8", "tokens": true}`
	code, v := askServer(t, s.url, prompt)
	if msg := fmt.Sprint(v["error"]); code < 400 || !strings.Contains(msg, "fault injected") {
		t.Fatalf("with a worker panicking: %d %q, want an error answer naming the panic", code, msg)
	}
	if err := os.Remove(fault); err != nil {
		t.Fatal(err)
	}
	if code, v := askServer(t, s.url, prompt); code != 200 || len(v["tokens"].([]any)) != 16 {
		t.Fatalf("the next request: %d %v, want it served", code, v["error"])
	}
	if code := s.interrupt(t); code != 0 || strings.Contains(s.stderr.String(), "goroutine ") {
		t.Errorf("exit code %d after Ctrl-C; stderr %s", code, s.stderr)
	}
}
