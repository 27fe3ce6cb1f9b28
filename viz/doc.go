// Package viz writes mechinterp's self-contained HTML reports: charts built with go-echarts,
// the Apache ECharts 5 script (embedded with go:embed, licence in assets/echarts) inlined in
// the page, the numbers behind the charts embedded as JSON, and no network request from the
// page, ever (its Content-Security-Policy forbids them too).
//
// # Building a report
//
// Every chart takes a Spec: a title, both axis names and a one-line caption, rendered under the
// chart, saying how to read it. Mistakes (a missing caption, rows of different lengths, an
// option given to the wrong chart kind) are collected and returned when the page is written,
// and then nothing is written.
//
//	r := viz.NewReport("Toy model: 5 features in 2 dimensions")
//	r.Section("Geometry", "Each column of W is a feature direction.")
//	r.Add(viz.Heatmap(viz.Spec{Title: "W^T W", X: "feature j", Y: "feature i",
//		Caption: "Red: same direction; blue: opposite; white: orthogonal."},
//		names, names, wtw, viz.Diverging()))
//	r.Data("wtw", wtw) // in the page: mechinterp.data("wtw")
//	err := r.WriteFile("out/toy.html") // atomic: temp file in out/, then rename
//
// Chart kinds: Heatmap (Diverging, ColorRange, ShowValues), Bars (ColorBy, HLine), Scatter
// (EqualAxes, FromOrigin) and Lines (LogX, LogY, VLine, HLine, YRight with Series.RightAxis);
// Height applies to all. Index builds a page of links to other reports. Interactive pages add
// their own markup with Report.Raw and code with Report.Script; the page exposes
// window.echarts, mechinterp.charts (chart id -> ECharts instance) and mechinterp.data(name).
//
// # The pages of the commands
//
// viz renders numbers it is handed and imports no analysis package. The page of each
// analysis (heads, track, circuits, patch, the repeated-data study, superposition) is built
// in package report, which joins the analysis packages and this one.
//
// # The attention explorer
//
// Package viz/attention holds the interactive attention explorer, its local server, and the
// computation of the patterns it shows.
//
// # Testing a report in the browser
//
// Package viz/browsertest opens a page in headless Chromium and fails the test on a console
// error, an uncaught exception, a request leaving the page, or a chart whose canvas is blank:
//
//	func TestMyReport(t *testing.T) {
//		path := filepath.Join(t.TempDir(), "r.html")
//		if err := buildReport().WriteFile(path); err != nil {
//			t.Fatal(err)
//		}
//		p := browsertest.Open(t, path) // skips without chromium unless MECHINTERP_BROWSER=required
//		p.Check()
//		p.Screenshot("my-report")
//	}
package viz
