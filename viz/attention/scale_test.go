package attention_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz/attention"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestAttentionScale measures the explorer at the scale: a 256-token prompt on a random
// 12-layer × 12-head, d_model 768 model (d_vocab 64), at GPT-2's initial weight scale (near
// uniform patterns) and at a sharper one. It logs the page size and the time from navigation
// to the first drawn chart in headless Chromium (docs/attention-explorer.md quotes them); it
// asserts only that the page works, never a time.
func TestAttentionScale(t *testing.T) {
	if os.Getenv("MECHINTERP_LONG_TESTS") == "" {
		t.Skip("a measurement on a 28M-parameter model (20 s on 2 cores): set MECHINTERP_LONG_TESTS=1")
	}
	browsertest.Require(t)
	const T = 256
	for _, init := range []float32{0.02, 0.1} {
		m := testmodel.New(t, models.Config{NLayers: 12, NHeads: 12, DModel: 768, NCtx: T, DVocab: 64, AttnOnly: true, InitializerRange: init, Seed: 1})
		ids := make([]int, T)
		for i := range ids {
			ids[i] = (i*37 + i*i) % 64
		}
		start := time.Now()
		d, err := attention.Compute(context.Background(), m, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		forward := time.Since(start)
		start = time.Now()
		if d.Heads, err = report.AttentionRoles(m, ""); err != nil {
			t.Fatal(err)
		}
		roles := time.Since(start)
		r, err := attention.Page(d, attention.Options{})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "scale.html")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		bits := 16
		if 12*12*T*(T+1)/2 > attention.AutoBitsLimit {
			bits = 8
		}
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
			init, float64(st.Size())/(1<<20), bits, forward.Round(time.Millisecond), roles.Round(time.Millisecond),
			tm.FirstChart, tm.Script, tm.DecodeMs, tm.GridMs, tm.HeatmapMs, switchMs)
	}
}
