package report

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestDashboardLoadTime measures how long dashboard pages take to load in
// Chromium and show their first unit: MECHINTERP_DASH_PAGES lists the
// pages (comma-separated paths); without it the test is skipped. The
// figures of docs/neurons.md, "Page size", come from
//
//	MECHINTERP_DASH_PAGES=runs/sae-report/features.html,runs/sae-report/neurons.html \
//	    go test ./report -run DashboardLoadTime -v
func TestDashboardLoadTime(t *testing.T) {
	pages := os.Getenv("MECHINTERP_DASH_PAGES")
	if pages == "" {
		t.Skip("MECHINTERP_DASH_PAGES names no page")
	}
	browsertest.Require(t)
	for _, path := range strings.Split(pages, ",") {
		size := int64(0)
		if !strings.HasPrefix(path, "http://") {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			size = fi.Size()
		}
		for run := 0; run < 3; run++ {
			start := time.Now()
			p := browsertest.Open(t, path, browsertest.Timeout(2*time.Minute))
			var ms float64
			// The time from navigation to the first unit's detail being shown.
			p.Eval(`(async () => {
  while (!document.querySelector("#mi-dash-detail h3")) await new Promise(r => setTimeout(r, 5));
  const m = performance.getEntriesByName("mi-dash-ready")[0];
  return m ? m.startTime : performance.getEntriesByType("navigation")[0].loadEventEnd;
})()`, &ms)
			var nav map[string]float64
			p.Eval(`(() => { const n = performance.getEntriesByType("navigation")[0]; return {responseEnd: n.responseEnd, domInteractive: n.domInteractive, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()`, &nav)
			var script float64
			p.Eval(`(() => { const a = performance.getEntriesByName("mi-dash-start")[0], b = performance.getEntriesByName("mi-dash-ready")[0]; return a && b ? b.startTime - a.startTime : -1; })()`, &script)
			t.Logf("navigation timing (ms): %v; the dashboard script, start to first unit: %.0f ms (-1: a page without the marks)", nav, script)
			var heap float64
			p.Eval(`performance.memory ? performance.memory.usedJSHeapSize : 0`, &heap)
			t.Logf("%s (%.1f MB): first unit shown %.0f ms after navigation (Open returned after %v); JS heap %.0f MB",
				path, float64(size)/1e6, ms, time.Since(start).Round(time.Millisecond), heap/1e6)
			if run > 0 {
				continue
			}
			p.Screenshot("first")
			// With MECHINTERP_DASH_SEARCH, search for that token and show
			// the first unit listed (the docs' screenshots).
			if q := os.Getenv("MECHINTERP_DASH_SEARCH"); q != "" {
				p.Eval(`(() => { const q = document.getElementById("mi-dash-q"); q.value = `+strconv.Quote(q)+`; q.dispatchEvent(new Event("input")); return 0; })()`, nil)
				p.WaitFor(`document.getElementById("mi-dash-count").textContent.includes("matching")`)
				p.Click(`#mi-dash-list div:nth-child(1)`)
				var first string
				p.Eval(`document.querySelector("#mi-dash-list div:nth-child(1)").dataset.i`, &first)
				p.WaitFor(`document.querySelector("#mi-dash-detail h3").textContent.endsWith(" ` + first + `")`)
				p.Screenshot("search")
			}
		}
	}
}
