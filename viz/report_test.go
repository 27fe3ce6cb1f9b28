package viz

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func mustHTML(t *testing.T, r *Report) string {
	t.Helper()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReportHTML(t *testing.T) {
	page := mustHTML(t, sampleReport())

	if !strings.Contains(page, "<script>"+echartsJS+"</script>") {
		t.Error("the embedded ECharts script is not inlined whole")
	}
	if !strings.Contains(echartsJS, "Licensed to the Apache Software Foundation") || len(echartsJS) < 500_000 {
		t.Error("the embedded script does not look like echarts.min.js")
	}
	for _, want := range []string{
		"<title>Sample report &lt;all charts&gt;</title>", // escaped
		"<h2>Geometry</h2>", "<p>A pentagon.</p>",
		"<figcaption>Red: features point the same way; blue: opposite; white: orthogonal.</figcaption>",
		`"text":"W^T W"`, `"name":"feature j"`, `"name":"feature i"`,
		`"type":"log"`, `"name":"loss bump"`, `"xAxis":800`, `"yAxis":0.5`,
		`"inRange":{"color":["#2166ac"`, // diverging scale
		`id="mi-data-wtw"`,
		`\u003c|endoftext|\u003e`, // token labels cannot close a script
		"Content-Security-Policy",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, `class="mi-chart"`); n != 5 {
		t.Errorf("%d chart containers, want 5", n)
	}
	if n := strings.Count(page, "<figcaption>"); n != 5 {
		t.Errorf("%d captions, want 5", n)
	}

	// Every chart option and data block is valid JSON.
	blocks := regexp.MustCompile(`(?s)<script type="application/json"[^>]*id="([^"]+)">(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(blocks) != 6 {
		t.Fatalf("%d JSON blocks, want 6 (5 charts, 1 data)", len(blocks))
	}
	for _, b := range blocks {
		var v any
		if err := json.Unmarshal([]byte(b[2]), &v); err != nil {
			t.Errorf("block %s is not JSON: %v", b[1], err)
		}
	}
	var data struct {
		Features []string
		Values   []float64
	}
	json.Unmarshal([]byte(blocks[5][2]), &data)
	if blocks[5][1] != "mi-data-wtw" || len(data.Features) != 5 || data.Values[0] != 1 {
		t.Errorf("data block %s = %+v", blocks[5][1], data)
	}
}

// TestNoExternalURLs: nothing in the page outside the inlined ECharts script refers to the
// network (the script itself contains namespace URIs such as http://www.w3.org/2000/svg).
func TestNoExternalURLs(t *testing.T) {
	for _, r := range []*Report{sampleReport(), Index("Run", Link{Title: "Heads", Path: "heads.html"})} {
		page := strings.Replace(mustHTML(t, r), echartsJS, "", 1)
		if strings.Contains(page, "//") && regexp.MustCompile(`(?i)(https?:|wss?:)?//[a-z0-9]`).MatchString(page) {
			t.Errorf("%s: page refers to a URL: %v", r.Title(), regexp.MustCompile(`(?i)(https?:|wss?:)?//[a-z0-9][^"' <]*`).FindAllString(page, 5))
		}
		if m := regexp.MustCompile(`(?i)<(script|link|img|iframe)[^>]+(src|href)=`).FindString(page); m != "" {
			t.Errorf("%s: page loads a resource: %s", r.Title(), m)
		}
	}
}

func TestIndex(t *testing.T) {
	page := mustHTML(t, Index("Demo run",
		Link{Title: "Head scores", Path: "heads.html", Description: "which heads do what"},
		Link{Title: "Formation", Path: "track/index.html"}))
	for _, want := range []string{`<a href="heads.html">Head scores</a>`, "which heads do what", `<a href="track/index.html">Formation</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if strings.Contains(page, echartsJS[:200]) {
		t.Error("an index without charts inlines ECharts")
	}
	for _, bad := range []string{"https://example.com/x.html", "/etc/passwd", "//host/x", ""} {
		if _, err := Index("x", Link{Title: "x", Path: bad}).HTML(); err == nil {
			t.Errorf("link path %q accepted", bad)
		}
	}
}

func TestMistakesAreErrors(t *testing.T) {
	spec := Spec{Title: "t", X: "x", Y: "y", Caption: "c"}
	xy := []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{3, 4}}}
	for name, c := range map[string]*Chart{
		"no title":           Lines(Spec{X: "x", Y: "y", Caption: "c"}, xy),
		"no x name":          Lines(Spec{Title: "t", Y: "y", Caption: "c"}, xy),
		"no y name":          Lines(Spec{Title: "t", X: "x", Caption: "c"}, xy),
		"no caption":         Lines(Spec{Title: "t", X: "x", Y: "y"}, xy),
		"two-line caption":   Lines(Spec{Title: "t", X: "x", Y: "y", Caption: "a\nb"}, xy),
		"ragged heatmap":     Heatmap(spec, []string{"a", "b"}, []string{"r"}, [][]float64{{1}}),
		"heatmap rows":       Heatmap(spec, []string{"a"}, []string{"r", "s"}, [][]float64{{1}}),
		"x/y lengths":        Scatter(spec, []Series{{X: []float64{1}, Y: []float64{1, 2}}}),
		"no series":          Lines(spec, nil),
		"labels":             Scatter(spec, []Series{{X: []float64{1}, Y: []float64{1}, Labels: []string{"a", "b"}}}),
		"bar count":          Bars(spec, []string{"a", "b"}, []Series{{Y: []float64{1}}}),
		"option misapplied":  Lines(spec, xy, Diverging()),
		"log heatmap":        Heatmap(spec, []string{"a"}, []string{"r"}, [][]float64{{1}}, LogX()),
		"right without axis": Lines(spec, []Series{{X: []float64{1}, Y: []float64{1}, RightAxis: true}}),
		"bad range":          Heatmap(spec, []string{"a"}, []string{"r"}, [][]float64{{1}}, ColorRange(1, 0)),
		"colorby length":     Bars(spec, []string{"a", "b"}, []Series{{Y: []float64{1, 2}}}, ColorBy("c", []float64{1})),
	} {
		if _, err := NewReport("r").Add(c).HTML(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, r := range map[string]*Report{
		"no title":      NewReport(""),
		"bad data name": NewReport("r").Data("has space", 1),
		"NaN data":      NewReport("r").Data("x", math.NaN()),
		"twice":         NewReport("r").Data("x", 1).Data("x", 2),
		"script":        NewReport("r").Script("document.write('</script>')"),
		"nil chart":     NewReport("r").Add(nil),
	} {
		if _, err := r.HTML(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNaNLeftOut(t *testing.T) {
	spec := Spec{Title: "t", X: "x", Y: "y", Caption: "c"}
	nan := math.NaN()
	page := mustHTML(t, NewReport("r").Add(
		Lines(spec, []Series{{Name: "s", X: []float64{0, 1, 2, 3}, Y: []float64{1, nan, math.Inf(1), 4}}}, LogX()),
		Heatmap(spec, []string{"a", "b"}, []string{"r"}, [][]float64{{nan, 2}}),
	))
	page = strings.Replace(page, echartsJS, "", 1)
	if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
		t.Error("NaN or Inf in page")
	}
	if !strings.Contains(page, `"data":[{"value":[3,4],"symbolSize":9}]`) {
		t.Error("line should keep only (3,4): x=0 is off a log axis, NaN and Inf are missing")
	}
	if !strings.Contains(page, `"data":[{"value":[1,0,2]}]`) {
		t.Error("heatmap should keep only the finite cell")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := sampleReport().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)

	// A report with a mistake writes nothing and leaves the old file alone.
	bad := NewReport("bad").Add(Lines(Spec{Title: "no caption", X: "x", Y: "y"}, []Series{{X: []float64{1}, Y: []float64{1}}}))
	if err := bad.WriteFile(path); err == nil || !strings.Contains(err.Error(), "Caption") {
		t.Fatalf("WriteFile of a chart without caption: err = %v", err)
	}
	// A write that fails on the way (the target is a directory) leaves no temporary file.
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := sampleReport().WriteFile(filepath.Join(dir, "taken")); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if err := sampleReport().WriteFile(filepath.Join(path, "r.html")); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
	// A missing directory is made (in a directory of its own, to keep the listing below).
	if err := sampleReport().WriteFile(filepath.Join(t.TempDir(), "reports", "r.html")); err != nil {
		t.Fatalf("writing into a missing directory: %v", err)
	}
	if err := WriteJSON(filepath.Join(dir, "x.json"), math.Inf(1)); err == nil {
		t.Fatal("WriteJSON of +Inf succeeded")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "report.html taken" {
		t.Errorf("directory holds %q, want only report.html and taken", names)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, good) {
		t.Error("a failed write changed the existing report")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v, want 0644", st.Mode().Perm())
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "numbers.json")
	if err := WriteJSON(path, map[string][]float64{"loss": {1.5, 0.5}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{\n  \"loss\": [\n    1.5,\n    0.5\n  ]\n}\n" {
		t.Errorf("WriteJSON wrote %q", b)
	}
}
