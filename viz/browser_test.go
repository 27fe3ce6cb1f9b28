package viz

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestReportInBrowser opens a report with one chart of each kind in headless Chromium: no
// console error, no request leaving the page, every chart drawn, tooltips and data readable.
// TestMain stops the one browser that the page tests of this binary share.
func TestMain(m *testing.M) { browsertest.Main(m) }

func TestReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sample.html")
	if err := sampleReport().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, path)
	p.Check()
	if c := p.Charts(); c.Count != 5 || c.Drawn != 5 {
		t.Errorf("charts = %+v, want 5 drawn of 5", c)
	}
	var n int
	p.Eval(`Object.keys(mechinterp.charts).length`, &n)
	if n != 5 {
		t.Errorf("mechinterp.charts has %d charts, want 5", n)
	}
	var first float64
	p.Eval(`mechinterp.data("wtw").values[0]`, &first)
	if first != 1 {
		t.Errorf(`mechinterp.data("wtw").values[0] = %v, want 1`, first)
	}
	// The heatmap tooltip names the cell: hover the top-left cell of the attention heatmap.
	var tip string
	p.Eval(`(() => { const c = mechinterp.charts["mi-chart-1"];
	  c.dispatchAction({type: "showTip", seriesIndex: 0, dataIndex: 0});
	  const el = document.querySelector("#mi-chart-1 div:last-child");
	  return el ? el.textContent : ""; })()`, &tip)
	if want := "query <|endoftext|>, key <|endoftext|>: 1"; tip != want {
		t.Errorf("tooltip %q, want %q", tip, want)
	}
	// The cell labels of a heatmap with fixed decimals keep them when a later chart has none
	// (a formatter once read the loop's last chart's digits: the W^T W cell 0.309 printed "0.309").
	var label string
	p.Eval(`mechinterp.charts["mi-chart-0"].getOption().series[0].label.formatter({value: [1, 0, Math.cos(2 * Math.PI / 5)]})`, &label)
	if label != "0.31" {
		t.Errorf("W^T W cell label %q, want 0.31 (2 decimals)", label)
	}
	p.Eval(`mechinterp.charts["mi-chart-0"].getOption().series[0].label.formatter({value: [1, 0, -0.0001]})`, &label)
	if label != "0.00" {
		t.Errorf("W^T W cell label of -0.0001 %q, want 0.00 (no sign on a zero)", label)
	}
	// A log axis ends at the data, so its end labels are data values: 4 significant digits,
	// and short powers of ten outside the plain range ("1.000e-4" ran into the axis name).
	var ends []string
	p.Eval(`(() => { const f = mechinterp.charts["mi-chart-4"].getOption().xAxis[0].axisLabel.formatter;
	  return typeof f === "function" ? [f(0.2243322422), f(1500), f(1e-4), f(1.3312e-6), f(2e5)] : ["no formatter"]; })()`, &ends)
	if fmt.Sprint(ends) != "[0.2243 1,500 1e-4 1.331e-6 2e5]" {
		t.Errorf("log axis labels %v, want [0.2243 1,500 1e-4 1.331e-6 2e5]", ends)
	}
	p.Screenshot("sample-report")
	p.Check()
}

func TestIndexInBrowser(t *testing.T) {
	browsertest.Require(t)
	dir := t.TempDir()
	if err := sampleReport().WriteFile(filepath.Join(dir, "sample.html")); err != nil {
		t.Fatal(err)
	}
	if err := Index("Run", Link{Title: "Sample", Path: "sample.html"}).WriteFile(filepath.Join(dir, "index.html")); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, filepath.Join(dir, "index.html"))
	p.Click(`a[href="sample.html"]`)
	p.WaitFor(`location.pathname.endsWith("/sample.html") && document.readyState === "complete" && window.mechinterp && Object.keys(mechinterp.charts).length === 5`)
	p.Check()
}
