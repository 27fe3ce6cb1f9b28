package attention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// fakeAttention stands in for a model: one token per rune (or per comma-separated id in token
// mode); at checkpoint 0 every head attends uniformly, at checkpoint 1 head 0 attends to the
// previous token and head 1 to the first. "fail" is an error, "panic" a panic, "worker panic"
// a panic on a worker goroutine, as a model's parallel kernels would.
func fakeAttention(ctx context.Context, req Request) (*Data, error) {
	switch req.Prompt {
	case "fail":
		return nil, errors.New("token id 999 at position 0 is out of range [0,50)")
	case "panic":
		panic("deliberate")
	case "worker panic":
		var g parallel.Group
		g.Go(func() { panic("deliberate, in a worker") })
		g.Wait()
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var toks []string
	if req.Tokens {
		for _, f := range strings.Split(req.Prompt, ",") {
			if _, err := strconv.Atoi(strings.TrimSpace(f)); err != nil {
				return nil, fmt.Errorf("%q is not a token id", f)
			}
			toks = append(toks, strings.TrimSpace(f))
		}
	} else {
		for _, r := range req.Prompt {
			toks = append(toks, string(r))
		}
	}
	T := len(toks)
	heads := make([][]float32, 2)
	for h := range heads {
		p := make([]float32, T*T)
		for q := 0; q < T; q++ {
			for k := 0; k <= q; k++ {
				switch {
				case req.Checkpoint == 0:
					p[q*T+k] = 1 / float32(q+1)
				case h == 0 && k == max(q-1, 0), h == 1 && k == 0:
					p[q*T+k] = 1
				}
			}
		}
		heads[h] = p
	}
	return &Data{Title: "fake", Tokens: toks, Patterns: [][][]float32{heads},
		Step: []int{0, 500}[min(req.Checkpoint, 1)], HasStep: true}, nil
}

var fakeCheckpoints = []Checkpoint{{Step: 0}, {Step: 500, Label: "step 500 (final)"}}

func post(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %d is not JSON: %q", res.StatusCode, b)
	}
	return res.StatusCode, v
}

// TestAttentionServerAPI: the page, a good prompt, and every kind of bad request, each answered
// with a status and a message, the server answering again afterwards.
func TestAttentionServerAPI(t *testing.T) {
	s, err := NewServer(fakeAttention, ServerOptions{Checkpoints: fakeCheckpoints, MaxPromptBytes: 64, MaxBodyBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	api := srv.URL + "/api/attention"

	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), `id="mi-attn-form"`) || !strings.Contains(string(page), "connect-src &#39;self&#39;") {
		t.Errorf("GET / = %d; page has no prompt form or does not allow fetching from itself", res.StatusCode)
	}

	code, v := post(t, api, "application/json", `{"prompt": "abcd", "checkpoint": 1}`)
	if code != 200 || v["bits"] != 16.0 || v["layers"] != 1.0 || v["heads"] != 2.0 || v["step"] != 500.0 || len(v["tokens"].([]any)) != 4 {
		t.Fatalf("good prompt: %d %v", code, v)
	}
	var p attentionPayload
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &p)
	if w := decodePayload(t, &p); w[0][0][1+1] != 0 || w[0][0][1+0] != 1 || w[0][1][3] != 1 {
		t.Errorf("checkpoint 1 should be previous-token and first-token heads: %v", w[0])
	}

	tests := []struct {
		name, method, ctype, body string
		status                    int
		msg                       string
	}{
		{"oversized prompt", "POST", "application/json", `{"prompt": "` + strings.Repeat("x", 65) + `"}`, 413, "the prompt is 65 bytes; this server accepts at most 64"},
		{"oversized body", "POST", "application/json", `{"prompt": "x", "pad": "` + strings.Repeat("x", 600) + `"}`, 413, "larger than this server's limit of 512 bytes"},
		{"empty prompt", "POST", "application/json", `{"prompt": "  "}`, 400, "the prompt is empty"},
		{"not JSON", "POST", "application/json", `prompt=x`, 400, "not a valid attention request"},
		{"unknown field", "POST", "application/json", `{"promt": "x"}`, 400, `unknown field "promt"`},
		{"form post", "POST", "text/plain", `{"prompt": "x"}`, 415, "must be JSON"},
		{"GET api", "GET", "", ``, 405, "use POST"},
		{"checkpoint out of range", "POST", "application/json", `{"prompt": "x", "checkpoint": 2}`, 400, "checkpoint 2 is out of range [0, 2)"},
		{"model error", "POST", "application/json", `{"prompt": "fail"}`, 422, "token id 999 at position 0 is out of range"},
		{"bad token ids", "POST", "application/json", `{"prompt": "1,x", "tokens": true}`, 422, `"x" is not a token id`},
		{"panic", "POST", "application/json", `{"prompt": "panic"}`, 422, "internal error while computing the attention: deliberate"},
		// Before workers handed their panics back, this ended the whole server.
		{"worker panic", "POST", "application/json", `{"prompt": "worker panic"}`, 422, "internal error while computing the attention: panic: deliberate, in a worker"},
		{"trailing data", "POST", "application/json", `{"prompt": "x"} {"prompt": "y"}`, 400, "data after its JSON object"},
		{"trailing garbage", "POST", "application/json", `{"prompt": "x"}]`, 400, "data after its JSON object"},
		{"invalid UTF-8", "POST", "application/json", "{\"prompt\": \"a\xffb\"}", 400, "not valid UTF-8"},
		{"no such page", "GET", "", ``, 404, "no such page: /nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := api
			if tt.status == 404 {
				url = srv.URL + "/nope"
			}
			req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var v struct{ Error string }
			if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if res.StatusCode != tt.status || !strings.Contains(v.Error, tt.msg) {
				t.Errorf("%d %q, want %d and a message containing %q", res.StatusCode, v.Error, tt.status, tt.msg)
			}
		})
	}
	// Still serving after all that.
	if code, v := post(t, api, "application/json", `{"prompt": "3,4", "tokens": true, "checkpoint": 0}`); code != 200 || v["tokens"].([]any)[1] != "4" {
		t.Errorf("after the errors: %d %v", code, v)
	}
}

func TestNewAttentionServerErrors(t *testing.T) {
	if _, err := NewServer(nil, ServerOptions{}); err == nil {
		t.Error("nil Func accepted")
	}
	if _, err := NewServer(fakeAttention, ServerOptions{Bits: 3}); err == nil || !strings.Contains(err.Error(), "Bits is 3") {
		t.Errorf("Bits 3: %v", err)
	}
	bad := func(context.Context, Request) (*Data, error) {
		return &Data{Tokens: []string{"a"}, Patterns: [][][]float32{{{2}}}}, nil
	}
	s, _ := NewServer(bad, ServerOptions{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	if code, v := post(t, srv.URL+"/api/attention", "application/json", `{"prompt": "a"}`); code != 500 || !strings.Contains(v["error"].(string), "unusable: attention pattern L0H0") {
		t.Errorf("bad data: %d %v", code, v)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:0": true, "[::1]:80": true, "127.3.4.5:1": true,
		"0.0.0.0:8080": false, ":8080": false, "192.168.1.2:80": false, "example.com:80": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestListenAndServe serves on a free loopback port, refuses a request addressed to another
// host (DNS rebinding), and shuts down cleanly when the context ends, stopping a request in
// flight.
func TestListenAndServe(t *testing.T) {
	s, err := NewServer(fakeAttention, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", s, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	if code, v := post(t, url+"api/attention", "application/json", `{"prompt": "hi"}`); code != 200 {
		t.Fatalf("%d %v", code, v)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "attacker.example:80"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("request for host attacker.example answered %d", res.StatusCode)
	}

	// A request in flight ("slow" waits for its context) when the server stops.
	var slowStatus atomic.Int64
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		res, err := http.Post(url+"api/attention", "application/json", strings.NewReader(`{"prompt": "slow"}`))
		if err == nil {
			slowStatus.Store(int64(res.StatusCode))
			res.Body.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	<-slowDone
	if s := slowStatus.Load(); s != http.StatusServiceUnavailable {
		t.Errorf("request in flight at shutdown answered %d, want 503", s)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("server still answers after shutdown")
	}
	if err := ListenAndServe(context.Background(), "127.0.0.1:-1", s, nil); err == nil {
		t.Error("bad address accepted")
	}
}

// setTimeouts shortens ListenAndServe's connection limits for one test.
func setTimeouts(t *testing.T, read, idle, grace time.Duration) {
	r, i, g := readTimeout, idleTimeout, shutdownGrace
	readTimeout, idleTimeout, shutdownGrace = read, idle, grace
	t.Cleanup(func() { readTimeout, idleTimeout, shutdownGrace = r, i, g })
}

// startServer runs ListenAndServe on a free loopback port; stop cancels it and returns
// what it returned.
func startServer(t *testing.T) (addr string, stop func() error) {
	s, err := NewServer(fakeAttention, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", s, func(u string) { urls <- u }) }()
	select {
	case u := <-urls:
		addr = strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
	case err := <-done:
		t.Fatal(err)
	}
	return addr, func() error { cancel(); return <-done }
}

// trickle opens a connection and sends a request whose body arrives a byte every 50 ms.
func trickle(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /api/attention HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr)
	go func() {
		for range 200 {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return c
}

// closedWithin reports whether the server closes c (a read ends) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestListenAndServeTimeouts: a client trickling its body or idling on keep-alive loses
// its connection after the read or idle timeout, and with such a client connected,
// stopping the server (Ctrl-C) still returns nil once the grace period is over. Before the
// timeouts a trickling client held its connection indefinitely and stopping returned
// "context deadline exceeded".
func TestListenAndServeTimeouts(t *testing.T) {
	setTimeouts(t, 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond)
	addr, stop := startServer(t)

	c := trickle(t, addr)
	if !closedWithin(c, 3*time.Second) {
		t.Error("a connection trickling its body was not closed by the read timeout")
	}
	c.Close()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if !closedWithin(c, 3*time.Second) {
		t.Error("an idle keep-alive connection was not closed by the idle timeout")
	}
	c.Close()

	// A trickling client still connected when the server stops: with a long read
	// timeout it outlives the grace period and is closed.
	readTimeout = time.Minute
	addr2, stop2 := startServer(t)
	c = trickle(t, addr2)
	defer c.Close()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := stop2(); err != nil {
		t.Errorf("stopping with a trickling client connected: %v, want nil", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if !closedWithin(c, time.Second) {
		t.Error("the trickling connection was left open after the server stopped")
	}
	if err := stop(); err != nil {
		t.Errorf("stopping: %v", err)
	}
}
