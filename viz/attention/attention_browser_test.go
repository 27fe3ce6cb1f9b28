package attention

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

type focusState struct {
	Layer, Head int
	Locked      bool
	Title       string
}

const focusJS = `({Layer: mechinterp.attention.focused.layer, Head: mechinterp.attention.focused.head,
  Locked: mechinterp.attention.locked, Title: document.getElementById("mi-attn-focus-title").textContent})`

func focus(p *browsertest.Page) focusState {
	var f focusState
	p.Eval(focusJS, &f)
	return f
}

// waitFocus waits for the focus to settle (redraws happen on the next animation frame).
func waitFocus(t *testing.T, p *browsertest.Page, l, h int, locked bool) {
	t.Helper()
	p.WaitFor(fmt.Sprintf(`(() => { const a = mechinterp.attention; return a.focused.layer === %d && a.focused.head === %d && a.locked === %v &&
	  document.getElementById("mi-attn-focus-title").textContent.startsWith("Layer %d, head %d") &&
	  document.getElementById("mi-attn-lockstate").textContent === %q; })()`, l, h, locked, l, h, map[bool]string{true: "locked", false: "preview"}[locked]))
}

// thumb returns the offset of head (l, h)'s thumbnail centre within the grid canvas.
func thumb(p *browsertest.Page, l, h int) (float64, float64) {
	var c struct{ X, Y float64 }
	p.Eval(fmt.Sprintf(`mechinterp.attention.thumbCentre(%d, %d)`, l, h), &c)
	return c.X, c.Y
}

func hoverThumb(p *browsertest.Page, l, h int) {
	x, y := thumb(p, l, h)
	p.HoverAt("#mi-attn-grid", x, y)
}

func clickThumb(p *browsertest.Page, l, h int) {
	x, y := thumb(p, l, h)
	p.ClickAt("#mi-attn-grid", x, y)
}

var tipWeight = regexp.MustCompile(`query (\d+) .*key (\d+) .*weight ([0-9.]+) \(L\d+H\d+, stored to (\d+) bits`)

// heatmapTooltip hovers the focused heatmap's cell (q, k) with the mouse and returns the
// query, key and weight its tooltip shows.
func heatmapTooltip(t *testing.T, p *browsertest.Page, q, k int) (int, int, float64) {
	t.Helper()
	var c struct{ X, Y float64 }
	p.Eval(fmt.Sprintf(`mechinterp.attention.cellCentre(%d, %d)`, q, k), &c)
	p.HoverAt("#mi-attn-heatmap", c.X, c.Y)
	p.WaitFor(fmt.Sprintf(`(() => { const el = document.getElementById("mi-attn-heat-tip");
	  return !el.hidden && el.textContent.startsWith("query %d ") && el.textContent.includes("key %d "); })()`, q, k))
	var tip string
	p.Eval(`document.getElementById("mi-attn-heat-tip").textContent`, &tip)
	m := tipWeight.FindStringSubmatch(tip)
	if m == nil {
		t.Fatalf("tooltip %q does not give query, key and weight", tip)
	}
	gq, _ := strconv.Atoi(m[1])
	gk, _ := strconv.Atoi(m[2])
	w, _ := strconv.ParseFloat(m[3], 64)
	return gq, gk, w
}

// TestAttentionExplorerInBrowser drives the static explorer in headless Chromium: it loads from
// file:// with no request and no console error; hovering previews a head, clicking locks it,
// clicking again or Escape unlocks; tooltips give the hand-built weights; the token strip,
// ranges and head labels work.
func TestAttentionExplorerInBrowser(t *testing.T) {
	browsertest.Require(t)
	d := handData()
	r, err := Page(d, Options{Bits: 8})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "attn.html")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, path)
	p.WaitFor(`mechinterp.attention.ready`)
	p.Check()
	if c := p.Charts(); c.Count != 1 || c.Drawn != 1 {
		t.Fatalf("charts %+v, want the focused heatmap drawn", c)
	}
	waitFocus(t, p, 0, 0, false)

	// The thumbnails are drawn: the canvas of L0H2 (all on BOS) has its darkest colour in
	// the first column. Read a pixel of its left edge and of its right edge, bottom row.
	var px struct{ Left, Right []int }
	p.Eval(`(() => { const c = document.getElementById("mi-attn-grid"), g = mechinterp.attention.thumbCentre(0, 2),
	  dpr = c.width / parseFloat(c.style.width), cell = 2 * (g.x - mechinterp.attention.thumbCentre(0, 1).x) ;
	  const ctx = c.getContext("2d"), half = (mechinterp.attention.thumbCentre(0, 1).x - mechinterp.attention.thumbCentre(0, 0).x - 6) / 2;
	  const at = (x, y) => Array.from(ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);
	  return {Left: at(g.x - half + 1, g.y + half - 1), Right: at(g.x + half - 1, g.y + half - 1)}; })()`, &px)
	if len(px.Left) != 4 || px.Left[0] > 40 || px.Right[0] < 200 {
		t.Errorf("L0H2 thumbnail: bottom-left pixel %v should be dark (weight 1), bottom-right %v pale (weight 0)", px.Left, px.Right)
	}

	// Hover previews; click locks; hovering elsewhere keeps the lock; clicking the locked
	// head again unlocks; Escape unlocks too.
	hoverThumb(p, 1, 2)
	waitFocus(t, p, 1, 2, false)
	clickThumb(p, 1, 2)
	waitFocus(t, p, 1, 2, true)
	hoverThumb(p, 0, 1)
	waitFocus(t, p, 1, 2, true)
	clickThumb(p, 1, 2)
	waitFocus(t, p, 1, 2, false)
	hoverThumb(p, 0, 1)
	waitFocus(t, p, 0, 1, false)
	clickThumb(p, 0, 1)
	waitFocus(t, p, 0, 1, true)
	p.Press(kb.Escape)
	waitFocus(t, p, 0, 1, false)
	clickThumb(p, 1, 1)
	waitFocus(t, p, 1, 1, true)
	clickThumb(p, 1, 2) // clicking another head moves the lock
	waitFocus(t, p, 1, 2, true)

	// Keyboard: with the grid focused, arrows move the lock, Enter toggles it.
	p.Eval(`document.getElementById("mi-attn-grid").focus()`, nil)
	p.Press(kb.ArrowLeft)
	waitFocus(t, p, 1, 1, true)
	p.Press(kb.ArrowUp)
	waitFocus(t, p, 0, 1, true)
	p.Press(kb.Enter)
	waitFocus(t, p, 0, 1, false)
	clickThumb(p, 1, 2)
	waitFocus(t, p, 1, 2, true)

	// Tooltips of the locked head L1H2 (weight ∝ 2^k) give the hand-built weights to within
	// the 8-bit step, and name the tokens.
	T := len(d.Tokens)
	for _, c := range [][2]int{{0, 0}, {3, 1}, {7, 7}, {5, 0}} {
		q, k, w := heatmapTooltip(t, p, c[0], c[1])
		want := float64(d.Patterns[1][2][c[0]*T+c[1]])
		if q != c[0] || k != c[1] || math.Abs(w-want) > 1.0/255 {
			t.Errorf("tooltip at (%d, %d) gives query %d key %d weight %g; want %g within 1/255", c[0], c[1], q, k, w, want)
		}
	}
	var tip string
	p.Eval(`document.getElementById("mi-attn-heat-tip").textContent`, &tip)
	if !regexp.MustCompile(`query 5 " the" \(id 105\)key 0 "<\|endoftext\|>" \(id 100\)weight 0\.016`).MatchString(tip) {
		t.Errorf("tooltip %q lacks the token texts and ids", tip)
	}

	// The token strip: hovering token 3 colours where it attends in the focused head (row 3)
	// or, toggled, what attends to it (column 3), or the mean of all heads.
	p.Hover(`.mi-tok[data-pos="3"]`)
	p.WaitFor(`mechinterp.attention.stripToken === 3`)
	var w []any
	p.Eval(`mechinterp.attention.stripWeights(3)`, &w)
	for k := 0; k < T; k++ {
		want := float64(d.Patterns[1][2][3*T+k])
		if k > 3 {
			if w[k] != nil {
				t.Errorf("strip weight of key %d after token 3 = %v, want masked", k, w[k])
			}
			continue
		}
		if g, ok := w[k].(float64); !ok || math.Abs(g-want) > 1.0/510+1e-6 {
			t.Errorf("strip weight of key %d = %v, want %g", k, w[k], want)
		}
	}
	var info string
	p.Eval(`document.getElementById("mi-attn-strip-info").textContent`, &info)
	if want := `Token 3 " sat" attends most to: 3 " sat" 0.533`; len(info) < len(want) || info[:len(want)] != want {
		t.Errorf("strip info %q, want it to start %q", info, want)
	}
	p.Click("#mi-attn-dir-from")
	p.Click("#mi-attn-src-mean")
	p.Hover(`.mi-tok[data-pos="0"]`)
	p.Eval(`mechinterp.attention.stripWeights(0)`, &w)
	for q := 0; q < T; q++ {
		// Mean over the six heads of the weight query q puts on token 0.
		want := 0.0
		for l := range d.Patterns {
			for h := range d.Patterns[l] {
				want += float64(d.Patterns[l][h][q*T]) / 6
			}
		}
		if g, ok := w[q].(float64); !ok || math.Abs(g-want) > 1.0/510+1e-6 {
			t.Errorf("mean attention of query %d on token 0 = %v, want %g", q, w[q], want)
		}
	}
	var bg string
	p.Eval(`document.querySelector('.mi-tok[data-pos="2"]').style.background`, &bg)
	if bg == "" {
		t.Error("hovering did not colour the strip")
	}

	// Ranges: queries 2..4 and keys 1..3 leave a 3 × 3 heatmap with 3+3+2 causal cells.
	// (typed into the range inputs; the keys are given backwards and put in order)
	p.Eval(`(() => { for (const [id, v] of [["q0", 2], ["q1", 4], ["k0", 3], ["k1", 1]]) {
	  const el = document.getElementById("mi-attn-" + id); el.value = v; el.dispatchEvent(new Event("change")); } })()`, nil)
	var shape struct{ X, Y, N int }
	p.Eval(`(() => { const o = mechinterp.charts["mi-attn-heatmap"].getOption(), s = mechinterp.attention.heatShape;
	  return {X: o.xAxis[0].data.length === s.keys ? s.keys : -1, Y: o.yAxis[0].data.length === s.queries ? s.queries : -1, N: s.cells}; })()`, &shape)
	if shape != (struct{ X, Y, N int }{3, 3, 8}) {
		t.Errorf("ranged heatmap %+v, want 3 keys, 3 queries, 8 cells", shape)
	}
	var k0 string
	p.Eval(`document.getElementById("mi-attn-k0").value`, &k0)
	if k0 != "1" {
		t.Errorf("key range not put in order: from = %s", k0)
	}
	if q, k, w := heatmapTooltip(t, p, 4, 2); q != 4 || k != 2 || math.Abs(w-4.0/31) > 1.0/255 {
		t.Errorf("ranged tooltip: query %d key %d weight %g, want 4, 2, %g", q, k, w, 4.0/31)
	}
	p.Click("#mi-attn-range-reset")
	p.Eval(`mechinterp.attention.heatShape.cells`, &shape.N)
	if shape.N != T*(T+1)/2 {
		t.Errorf("after reset the heatmap has %d cells, want %d", shape.N, T*(T+1)/2)
	}

	// Head labels: the locked L1H2 shows its role and score.
	var headInfo string
	p.Eval(`document.getElementById("mi-attn-headinfo").textContent`, &headInfo)
	if headInfo != "Role: inductionprefix matching0.830" { // named as the heads page names it
		t.Errorf("head info %q", headInfo)
	}
	hoverThumb(p, 0, 0)
	var gridTip string
	p.Eval(`document.getElementById("mi-attn-grid-tip").textContent`, &gridTip)
	if want := "L0H0 · layer 0, head 0role: previous-tokeninduction: 0.000previous token: 1.000click to lock this head"; gridTip != want {
		t.Errorf("grid tooltip %q, want %q", gridTip, want)
	}
	var status string
	p.Eval(`document.getElementById("mi-attn-status").textContent`, &status)
	if want := "step 1200 · 8 tokens · 2 layers × 3 heads · weights stored to 8 bits (±0.0020)"; status != want {
		t.Errorf("status %q, want %q", status, want)
	}
	p.Screenshot("attention-explorer")

	// Key labels turn 60° while the columns are wide enough, 90° in a smaller font when they
	// are not (40 keys at 60° overlapped one another).
	var rot struct{ Wide, Narrow, Font float64 }
	p.Eval(`mechinterp.charts["mi-attn-heatmap"].getOption().xAxis[0].axisLabel.rotate`, &rot.Wide)
	p.Eval(`document.getElementById("mi-attn-heatmap").style.width = "260px"; window.dispatchEvent(new Event("resize")); true`, nil)
	p.WaitFor(`mechinterp.charts["mi-attn-heatmap"].getOption().xAxis[0].axisLabel.rotate === 90`)
	p.Eval(`mechinterp.charts["mi-attn-heatmap"].getOption().xAxis[0].axisLabel.fontSize`, &rot.Font)
	if rot.Wide != 60 || rot.Font > 11 || rot.Font < 7 {
		t.Errorf("key labels turned %v° on a wide heatmap (want 60), font %v px on a narrow one (want 7-11)", rot.Wide, rot.Font)
	}
	p.Check()
}
