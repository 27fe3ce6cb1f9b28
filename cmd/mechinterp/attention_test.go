package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz/attention"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// attnConfig is a small model with sharp enough patterns (a large initial scale) that the
// heads differ visibly.
var attnConfig = models.Config{NLayers: 2, NHeads: 3, DModel: 24, NCtx: 16, DVocab: 20, AttnOnly: true, InitializerRange: 0.5, Seed: 5}

const attnPrompt = "0,3,7,11,19,3,7,11,19,2,5,3"

// pagePayload reads the attention data embedded in a page.
func pagePayload(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" class="mi-data" id="mi-data-attention">(.*?)</script>`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the page holds no attention data")
	}
	var v map[string]any
	if err := json.Unmarshal(m[1], &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// clickThumb clicks head (l, h)'s thumbnail.
func clickThumb(p *browsertest.Page, l, h int) {
	var c struct{ X, Y float64 }
	p.Eval(fmt.Sprintf(`mechinterp.attention.thumbCentre(%d, %d)`, l, h), &c)
	p.ClickAt("#mi-attn-grid", c.X, c.Y)
}

// clickHead clicks head (l, h)'s thumbnail and waits for it to be locked.
func clickHead(p *browsertest.Page, l, h int) {
	clickThumb(p, l, h)
	p.WaitFor(fmt.Sprintf(`mechinterp.attention.locked && mechinterp.attention.focused.layer === %d && mechinterp.attention.focused.head === %d &&
	  mechinterp.attention.heatShape.head === "L%dH%d"`, l, h, l, h))
}

// TestAttentionCommandPage writes the explorer for a real model: the page names the prompt's
// 12 tokens by id (the model has no tokenizer) and stores 2 layers × 3 heads at 16 bits. That
// the stored weights are the model's hook_pattern, and what the page does in a browser, are
// tested in viz/attention.
func TestAttentionCommandPage(t *testing.T) {
	dir := testmodel.Checkpoint(t, attnConfig)
	out := filepath.Join(t.TempDir(), "attn.html")
	stdout, err := cli(t, "attention", "--model", dir, "--tokens", attnPrompt, "-o", out, "--roles=false")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, "12 tokens, 2 layers × 3 heads") {
		t.Errorf("output %q", stdout)
	}
	v := pagePayload(t, out)
	if got, want := fmt.Sprint(v["tokens"]), "["+strings.ReplaceAll(attnPrompt, ",", " ")+"]"; got != want {
		t.Errorf("tokens %s, want the ids %s", got, want)
	}
	if v["layers"] != 2.0 || v["heads"] != 3.0 || v["bits"] != 16.0 || v["title"] != attention.ModelTitle(dir) {
		t.Errorf("payload layers %v, heads %v, bits %v, title %v", v["layers"], v["heads"], v["bits"], v["title"])
	}
}

// TestAttentionCommandText: a byte-level model gets its tokens' text on the page, and head
// roles unless --roles=false.
func TestAttentionCommandText(t *testing.T) {
	cfg := attnConfig
	cfg.DVocab, cfg.NCtx = 257, 64
	dir := testmodel.Checkpoint(t, cfg)
	out := filepath.Join(t.TempDir(), "a.html")
	if _, err := cli(t, "attention", "--model", dir, "--text", "ab\nab", "-o", out); err != nil {
		t.Fatal(err)
	}
	v := pagePayload(t, out)
	if got := fmt.Sprint(v["tokens"]); got != "[a b \n a b]" {
		t.Errorf("tokens %q", got)
	}
	info, ok := v["info"].([]any)
	if !ok || len(info) != 2 || len(info[0].([]any)) != 3 {
		t.Fatalf("head info %v, want 2 layers × 3 heads", v["info"])
	}
	scores := info[1].([]any)[0].(map[string]any)["scores"].(map[string]any)
	for _, k := range []string{"prefix_matching", "copying", "previous_token", "duplicate_token", "induction"} {
		if _, ok := scores[k].(float64); !ok {
			t.Errorf("head L1H0 lacks score %s: %v", k, scores)
		}
	}
	if _, err := cli(t, "attention", "--model", dir, "--text", "ab", "-o", out, "--roles=false", "--bits", "8"); err != nil {
		t.Fatal(err)
	}
	if v := pagePayload(t, out); v["info"] != nil || v["bits"] != 8.0 {
		t.Errorf("--roles=false --bits 8: info %v, bits %v", v["info"], v["bits"])
	}
}

func TestAttentionCommandErrors(t *testing.T) {
	dir := testmodel.Checkpoint(t, attnConfig)
	tmp := t.TempDir()
	// A regular file where the output's directory should be: unwritable.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"attention", "--tokens", "1,2"}, "--model is required"},
		{"missing model", []string{"attention", "--model", filepath.Join(tmp, "nope"), "--tokens", "1,2"}, "nope"},
		{"no prompt", []string{"attention", "--model", dir}, "give the prompt with --tokens or --text"},
		{"both prompts", []string{"attention", "--model", dir, "--tokens", "1", "--text", "a"}, "not both"},
		{"token out of range", []string{"attention", "--model", dir, "--tokens", "1,25"}, "token id 25 at position 1 is out of range [0,20)"},
		{"too long", []string{"attention", "--model", dir, "--tokens", strings.Repeat("1,", 16) + "1"}, "exceed the context length n_ctx=16"},
		{"two prompts", []string{"attention", "--model", dir, "--tokens", "1,2;3,4"}, "attention shows one prompt; got 2 sequences"},
		{"text without tokenizer", []string{"attention", "--model", dir, "--text", "hi"}, "give token ids (--tokens takes ids)"},
		{"bad bits", []string{"attention", "--model", dir, "--tokens", "1,2", "--bits", "12"}, "Bits is 12; want 8, 16 or 0"},
		{"unwritable output", []string{"attention", "--model", dir, "--tokens", "1,2", "-o", filepath.Join(blocker, "a.html")}, "a.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, append(tt.args, "--roles=false")...)
			assertCleanFailure(t, stderr, code, tt.want)
		})
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("failed runs left files: %v", ents)
	}
}

// TestAttentionDocsScreenshot renders docs/images/attention-explorer.png from a trained
// checkpoint when MECHINTERP_DOCS_MODEL names one (the demo's last checkpoint:
// MECHINTERP_DOCS_MODEL=mechinterp-demo/checkpoints/step-001500 go test -run DocsScreenshot),
// with the induction head locked on a repeated random sequence.
func TestAttentionDocsScreenshot(t *testing.T) {
	dir := os.Getenv("MECHINTERP_DOCS_MODEL")
	if dir == "" {
		t.Skip("set MECHINTERP_DOCS_MODEL to a trained checkpoint to redraw the docs' screenshot")
	}
	browsertest.Require(t)
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "attn.html")
	if _, err := cli(t, "attention", "--model", dir, "--tokens", "0,"+report.RepeatedPrompt(m.Config), "-o", out); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, out, browsertest.WindowSize(1400, 1000))
	p.WaitFor(`mechinterp.attention.ready`)
	var at struct{ L, H int }
	p.Eval(`(() => { const M = mechinterp.attention.model; let best = {L: M.L - 1, H: 0, s: -1};
	  for (let l = 0; l < M.L; l++) for (let h = 0; h < M.H; h++) { const s = M.info[l][h].scores.prefix_matching;
	    if (s > best.s) best = {L: l, H: h, s: s}; } return best; })()`, &at)
	clickHead(p, at.L, at.H)
	p.Hover(`.mi-tok[data-pos="30"]`)
	x, y := 0.0, 0.0
	p.Eval(`mechinterp.attention.cellCentre(30, 12).x`, &x)
	p.Eval(`mechinterp.attention.cellCentre(30, 12).y`, &y)
	p.HoverAt("#mi-attn-heatmap", x, y)
	p.WaitFor(`!document.getElementById("mi-attn-heat-tip").hidden`)
	p.Check()
	png := p.Screenshot("attention-explorer")
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "images", "attention-explorer.png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
