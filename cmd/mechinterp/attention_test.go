package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// attnConfig is a small model with sharp enough patterns (a large initial scale) that the
// heads differ visibly.
var attnConfig = models.Config{NLayers: 2, NHeads: 3, DModel: 24, NCtx: 16, DVocab: 20, AttnOnly: true, InitializerRange: 0.5, Seed: 5}

const attnPrompt = "0,3,7,11,19,3,7,11,19,2,5,3"

// hookPatterns runs m on ids and returns hook_pattern per layer, [1, H, T, T].
func hookPatterns(t *testing.T, dir string, ids []int) [][]float32 {
	t.Helper()
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, cache, err := hooks.RunWithCache(m, ids, 1, len(ids), hooks.MustFilter("blocks.*.attn.hook_pattern"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, m.Config.NLayers)
	for l := range out {
		out[l] = cache.Get(fmt.Sprintf("blocks.%d.attn.hook_pattern", l)).Data
	}
	return out
}

func parseIDs(s string) []int {
	var ids []int
	for _, f := range strings.Split(s, ",") {
		n, _ := strconv.Atoi(f)
		ids = append(ids, n)
	}
	return ids
}

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

// checkWeights compares every causal weight the page decoded with the model's hook_pattern.
func checkWeights(t *testing.T, p *browsertest.Page, pats [][]float32, H, T int, tol float64) {
	t.Helper()
	var got [][][][]float64 // [l][h][q][k<=q]
	p.Eval(`(() => { const a = mechinterp.attention, M = a.model, out = [];
	  for (let l = 0; l < M.L; l++) { out.push([]); for (let h = 0; h < M.H; h++) { const rows = [];
	    for (let q = 0; q < M.T; q++) { const r = []; for (let k = 0; k <= q; k++) r.push(a.weight(l, h, q, k)); rows.push(r); }
	    out[l].push(rows); } } return out; })()`, &got)
	worst := 0.0
	for l := range pats {
		for h := 0; h < H; h++ {
			for q := 0; q < T; q++ {
				for k := 0; k <= q; k++ {
					worst = math.Max(worst, math.Abs(got[l][h][q][k]-float64(pats[l][h*T*T+q*T+k])))
				}
			}
		}
	}
	if worst > tol {
		t.Errorf("page weights differ from hook_pattern by up to %g, want <= %g", worst, tol)
	}
	t.Logf("largest difference between the page's weights and hook_pattern: %.3g (tolerance %.3g)", worst, tol)
}

var tipRE = regexp.MustCompile(`query (\d+) .*key (\d+) .*weight ([0-9.]+) \(L\d+H\d+, stored to (\d+) bits`)

// tooltipAt hovers the focused heatmap's cell (q, k) and returns the weight its tooltip shows.
func tooltipAt(t *testing.T, p *browsertest.Page, q, k int) float64 {
	t.Helper()
	var c struct{ X, Y float64 }
	p.Eval(fmt.Sprintf(`mechinterp.attention.cellCentre(%d, %d)`, q, k), &c)
	p.HoverAt("#mi-attn-heatmap", c.X, c.Y)
	p.WaitFor(fmt.Sprintf(`(() => { const el = document.getElementById("mi-attn-heat-tip");
	  return !el.hidden && el.textContent.startsWith("query %d ") && el.textContent.includes("key %d "); })()`, q, k))
	var tip string
	p.Eval(`document.getElementById("mi-attn-heat-tip").textContent`, &tip)
	m := tipRE.FindStringSubmatch(tip)
	if m == nil || m[1] != strconv.Itoa(q) || m[2] != strconv.Itoa(k) {
		t.Fatalf("tooltip %q is not that of query %d, key %d", tip, q, k)
	}
	w, _ := strconv.ParseFloat(m[3], 64)
	return w
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

// TestAttentionCommandPage writes the explorer for a real model and opens it from file://:
// no request, no console error; every weight and the tooltips equal the model's hook_pattern
// within the 16-bit step; clicking a head locks it, clicking again unlocks.
func TestAttentionCommandPage(t *testing.T) {
	browsertest.Require(t)
	dir := tinyCheckpoint(t, attnConfig)
	out := filepath.Join(t.TempDir(), "attn.html")
	stdout, err := cli(t, "attention", "--model", dir, "--tokens", attnPrompt, "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, "12 tokens, 2 layers × 3 heads") {
		t.Errorf("output %q", stdout)
	}
	ids := parseIDs(attnPrompt)
	T := len(ids)
	pats := hookPatterns(t, dir, ids)

	p := browsertest.Open(t, out)
	p.WaitFor(`mechinterp.attention.ready`)
	p.Check()
	checkWeights(t, p, pats, 3, T, 0.5/65535+1e-7)

	clickHead(p, 1, 2)
	for _, c := range [][2]int{{11, 0}, {11, 10}, {6, 2}, {4, 4}} {
		want := float64(pats[1][2*T*T+c[0]*T+c[1]])
		// The tooltip rounds to 5 decimals: within half a 16-bit step plus half of 1e-5.
		if got := tooltipAt(t, p, c[0], c[1]); math.Abs(got-want) > 0.5/65535+0.5e-5 {
			t.Errorf("L1H2 tooltip at query %d, key %d: %g, hook_pattern %g", c[0], c[1], got, want)
		}
	}
	clickHead(p, 0, 1)
	clickThumb(p, 0, 1) // clicked again: unlocked
	p.WaitFor(`!mechinterp.attention.locked && document.getElementById("mi-attn-lockstate").textContent === "preview"`)
	var tok string
	p.Eval(`document.querySelectorAll(".mi-tok")[2].textContent`, &tok)
	if tok != "7" {
		t.Errorf("token 2 shows %q, want its id 7 (the model has no tokenizer)", tok)
	}
	p.Screenshot("attention-command")
}

// TestAttentionCommandText: a byte-level model gets its tokens' text on the page, and head
// roles unless --roles=false.
func TestAttentionCommandText(t *testing.T) {
	cfg := attnConfig
	cfg.DVocab, cfg.NCtx = 257, 64
	dir := tinyCheckpoint(t, cfg)
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
	dir := tinyCheckpoint(t, attnConfig)
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
		{"text without tokenizer", []string{"attention", "--model", dir, "--text", "hi"}, "use --tokens"},
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

// TestAttentionScale measures the explorer at the scale: a 256-token prompt on a random
// 12-layer × 12-head, d_model 768 model (d_vocab 64), at GPT-2's initial weight scale (near
// uniform patterns) and at a sharper one. It logs the page size and the time from navigation
// to the first drawn chart in headless Chromium (docs/attention-explorer.md quotes them); it
// asserts only that the page works, never a time.
func TestAttentionScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 28M-parameter model")
	}
	browsertest.Require(t)
	const T = 256
	for _, init := range []float32{0.02, 0.1} {
		m, err := models.New(models.Config{NLayers: 12, NHeads: 12, DModel: 768, NCtx: T, DVocab: 64, AttnOnly: true, InitializerRange: init, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, T)
		for i := range ids {
			ids[i] = (i*37 + i*i) % 64
		}
		start := time.Now()
		d, err := attentionData(context.Background(), m, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		forward := time.Since(start)
		start = time.Now()
		if d.Heads, err = headInfo(m); err != nil {
			t.Fatal(err)
		}
		roles := time.Since(start)
		r, err := viz.AttentionReport(d, viz.AttentionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "scale.html")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		p := browsertest.Open(t, path, browsertest.Timeout(2*time.Minute))
		p.WaitFor(`mechinterp.attention.timings.firstChart !== undefined`)
		p.Check()
		var tm struct{ Script, FirstChart, DecodeMs, GridMs, HeatmapMs float64 }
		p.Eval(`(() => { const t = mechinterp.attention.timings; return {Script: t.script, FirstChart: t.firstChart, DecodeMs: t.decodeMs, GridMs: t.gridMs, HeatmapMs: t.heatmapMs}; })()`, &tm)
		// Switching heads: lock another head and time its redraw.
		var switchMs float64
		p.Eval(`new Promise(res => { const a = mechinterp.attention, t0 = performance.now(); a.lock(11, 11);
		  requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0))); })`, &switchMs)
		t.Logf("initializer_range %g: page %.2f MB (patterns stored at %v bits); forward %v, head roles %v; first chart drawn %.0f ms after navigation (page parsed and scripts loaded at %.0f ms; decode %.0f ms, grid %.0f ms, heatmap %.0f ms); switching head %.0f ms",
			init, float64(st.Size())/(1<<20), pagePayload(t, path)["bits"], forward.Round(time.Millisecond), roles.Round(time.Millisecond),
			tm.FirstChart, tm.Script, tm.DecodeMs, tm.GridMs, tm.HeatmapMs, switchMs)
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
	if _, err := cli(t, "attention", "--model", dir, "--tokens", "0,"+repeatedPrompt(m.Config), "-o", out); err != nil {
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
