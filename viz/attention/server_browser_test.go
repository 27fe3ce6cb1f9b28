package attention

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestAttentionServerInBrowser runs the local server over loopback and drives its page: the
// start prompt is drawn, a typed prompt updates the explorer, stepping back a checkpoint
// changes the patterns and keeps the locked head, and an oversized prompt is refused with a
// message in the page while the server keeps answering.
func TestAttentionServerInBrowser(t *testing.T) {
	browsertest.Require(t)
	s, err := NewServer(fakeAttention, ServerOptions{Title: "fake model", Checkpoints: fakeCheckpoints, Prompt: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", s, func(u string) { urls <- u }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatal(err)
	}

	p := browsertest.Open(t, url, browsertest.NoAutoCheck())
	p.WaitFor(`mechinterp.attention.ready && mechinterp.attention.model.T === 3`)
	var status string
	p.Eval(`document.getElementById("mi-attn-status").textContent`, &status)
	if !strings.HasPrefix(status, "fake · step 500 · 3 tokens") {
		t.Errorf("status %q: the last checkpoint should be shown first", status)
	}

	// Type a prompt and run it.
	p.Eval(`document.getElementById("mi-attn-prompt").value = ""`, nil)
	p.Click("#mi-attn-prompt")
	p.Press("hello world")
	p.Click("#mi-attn-run")
	p.WaitFor(`mechinterp.attention.model.T === 11 && document.getElementById("mi-attn-busy").hidden`)
	var tok string
	p.Eval(`document.querySelectorAll(".mi-tok")[5].textContent`, &tok)
	if tok != "·" {
		t.Errorf("token 5 shows %q, want the space shown as ·", tok)
	}
	// At step 500 head 1 attends to the first token.
	if w := weightAt(p, 0, 1, 7, 0); w != 1 {
		t.Errorf("step 500, L0H1 query 7 on key 0 = %g, want 1", w)
	}

	// Lock head 1, step back to checkpoint 0 (uniform heads): the lock stays.
	clickThumb(p, 0, 1)
	waitFocus(t, p, 0, 1, true)
	p.Click("#mi-attn-prev")
	p.WaitFor(`document.getElementById("mi-attn-status").textContent.includes("step 0 ·") && document.getElementById("mi-attn-ckpt-label").textContent === "step 0 (1 of 2)"`)
	waitFocus(t, p, 0, 1, true)
	if q, k, w := heatmapTooltip(t, p, 6, 2); q != 6 || k != 2 || math.Abs(w-1.0/7) > 1.0/65535 {
		t.Errorf("step 0 tooltip: query %d key %d weight %g, want 1/7", q, k, w)
	}

	// An oversized prompt: a message in the page, the explorer as it was, the server alive.
	p.Eval(`document.getElementById("mi-attn-prompt").value = "x".repeat(5000)`, nil)
	p.Click("#mi-attn-run")
	p.WaitFor(`!document.getElementById("mi-attn-error").hidden`)
	var msg string
	p.Eval(`document.getElementById("mi-attn-error").textContent`, &msg)
	if msg != "the prompt is 5000 bytes; this server accepts at most 4096" {
		t.Errorf("error shown: %q", msg)
	}
	var T int
	p.Eval(`mechinterp.attention.model.T`, &T)
	if T != 11 {
		t.Errorf("after the refused prompt the explorer shows %d tokens, want the previous 11", T)
	}
	p.Eval(`document.getElementById("mi-attn-prompt").value = "ok"`, nil)
	p.Click("#mi-attn-run")
	p.WaitFor(`mechinterp.attention.model.T === 2 && document.getElementById("mi-attn-error").hidden`)

	// The play button steps through every checkpoint to the last.
	p.Eval(`document.getElementById("mi-attn-prompt").value = "hello world"`, nil)
	p.Click("#mi-attn-play")
	p.WaitFor(`document.getElementById("mi-attn-play").textContent === "play" && document.getElementById("mi-attn-ckpt").value === "1" && mechinterp.attention.model.step === 500 && mechinterp.attention.model.T === 11`)

	// The only console message is the browser's note of the refused request (HTTP 413).
	for _, pr := range p.Problems() {
		if !strings.Contains(pr, "status of 413") {
			t.Errorf("problem: %s", pr)
		}
	}
	p.Screenshot("attention-server")
}

func weightAt(p *browsertest.Page, l, h, q, k int) float64 {
	var w float64
	p.Eval(fmt.Sprintf(`mechinterp.attention.weight(%d, %d, %d, %d)`, l, h, q, k), &w)
	return w
}
