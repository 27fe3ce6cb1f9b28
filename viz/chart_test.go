package viz

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func optionOf(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	b, err := c.OptionJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func axis(o map[string]any, name string) map[string]any {
	switch a := o[name].(type) {
	case []any:
		return a[0].(map[string]any)
	case map[string]any:
		return a
	}
	return nil
}

// TestLogAxisSpansData: ECharts would draw steps 3 to 1500 from 1 to 10,000; the chart fixes
// the axis to the data (and to its marks).
func TestLogAxisSpansData(t *testing.T) {
	s := Spec{Title: "t", X: "step", Y: "loss", Caption: "c"}
	for _, tc := range []struct {
		name     string
		chart    *Chart
		xlo, xhi string
		ylo, yhi string
	}{
		{"log x", Lines(s, []Series{{Name: "a", X: []float64{0, 3, 10, 1500}, Y: []float64{5, 4, 3, 2}}}, LogX()), "3", "1500", "", ""},
		{"log x with a mark beyond", Lines(s, []Series{{Name: "a", X: []float64{3, 1500}, Y: []float64{5, 4}}}, LogX(), VLine(2000, "bump")), "3", "2000", "", ""},
		{"log both", Scatter(s, []Series{{Name: "a", X: []float64{0.2, 7}, Y: []float64{0.03, 40}}}, LogX(), LogY()), "0.2", "7", "0.03", "40"},
		{"log x of one value", Lines(s, []Series{{Name: "a", X: []float64{64, 64}, Y: []float64{0.8, -0.3}}}, LogX(), HLine(0, "no damage")), "32", "128", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := optionOf(t, tc.chart)
			x, y := axis(o, "xAxis"), axis(o, "yAxis")
			if got := fmt.Sprint(x["min"], " ", x["max"]); got != tc.xlo+" "+tc.xhi {
				t.Errorf("x axis %s, want %s %s", got, tc.xlo, tc.xhi)
			}
			if tc.ylo != "" {
				if got := fmt.Sprint(y["min"], " ", y["max"]); got != tc.ylo+" "+tc.yhi {
					t.Errorf("y axis %s, want %s %s", got, tc.ylo, tc.yhi)
				}
			}
		})
	}
}

// TestEveryCategoryLabelled: heatmap and bar axes show every label (ECharts hides crowded
// ones), turned when they do not fit side by side, and leave the choice to ECharts only when
// there is no room to read them.
func TestEveryCategoryLabelled(t *testing.T) {
	names := func(n int, prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	grid := func(r, c int) [][]float64 {
		z := make([][]float64, r)
		for i := range z {
			z[i] = make([]float64, c)
		}
		return z
	}
	s := Spec{Title: "t", X: "x", Y: "y", Caption: "c"}
	for _, tc := range []struct {
		name           string
		chart          *Chart
		xLabel, yLabel string // "interval/rotate", or "" for ECharts' own choice
	}{
		{"small heatmap", Heatmap(s, names(4, "H"), names(2, "L"), grid(2, 4)), "0/0", "0/0"},
		{"27 positions", Heatmap(s, names(27, "position "), names(2, "L"), grid(2, 27)), "0/90", "0/0"},
		{"bars with long names", Bars(s, names(14, "component "), []Series{{Name: "a", Y: make([]float64, 14)}}), "0/90", ""},
		{"few bars", Bars(s, names(3, "b"), []Series{{Name: "a", Y: make([]float64, 3)}}), "0/0", ""},
		{"too many to read", Heatmap(s, names(200, "f"), names(200, "f"), grid(200, 200)), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := optionOf(t, tc.chart)
			for _, ax := range []struct{ name, want string }{{"xAxis", tc.xLabel}, {"yAxis", tc.yLabel}} {
				a := axis(o, ax.name)
				if a["type"] != "category" {
					continue
				}
				got := ""
				if l, ok := a["axisLabel"].(map[string]any); ok {
					got = fmt.Sprint(l["interval"], "/", l["rotate"])
					got = strings.Replace(got, "<nil>", "0", 1)
				}
				if got != ax.want {
					t.Errorf("%s label %q, want %q", ax.name, got, ax.want)
				}
			}
		})
	}
}

// TestMarksStayVisible: a reference line outside the data widens the axis to show it.
func TestMarksStayVisible(t *testing.T) {
	s := Spec{Title: "t", X: "step", Y: "score", Caption: "c"}
	o := optionOf(t, Lines(s, []Series{{Name: "a", X: []float64{0, 10}, Y: []float64{0.023, 0.03}}}, HLine(0.4, "threshold")))
	if y := axis(o, "yAxis"); fmt.Sprint(y["min"], " ", y["max"]) != "0 0.5" {
		t.Errorf("y axis %v to %v, want 0 to 0.5 (holding the threshold 0.4)", y["min"], y["max"])
	}
	o = optionOf(t, Lines(s, []Series{{Name: "a", X: []float64{0, 10}, Y: []float64{0.1, 0.9}}}, HLine(0.4, "threshold")))
	if y := axis(o, "yAxis"); y["min"] != nil || y["max"] != nil {
		t.Errorf("y axis fixed to %v..%v though the data holds the mark", y["min"], y["max"])
	}
}

// TestFixedColourAndDigits: ColorRange fixes the colour scale of ColorBy bars (not their own
// min-max), and ShowValuesFixed asks the page for a fixed number of decimals.
func TestFixedColourAndDigits(t *testing.T) {
	b := Bars(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{1, 1}}},
		ColorBy("interference", []float64{0.999, 1.016}), ColorRange(0, 2))
	vm := optionOf(t, b)["visualMap"].([]any)[0].(map[string]any)
	if vm["min"] != 0.0 || vm["max"] != 2.0 {
		t.Errorf("bar colour scale %v..%v, want the fixed 0..2", vm["min"], vm["max"])
	}
	free := Bars(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{1, 1}}},
		ColorBy("interference", []float64{0.999, 1.016}))
	if vm := optionOf(t, free)["visualMap"].([]any)[0].(map[string]any); vm["min"] != 0.999 {
		t.Errorf("without ColorRange the scale starts at %v, want the data's 0.999", vm["min"])
	}
	h := Heatmap(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a"}, []string{"b"}, [][]float64{{0.77665}}, ShowValuesFixed(3))
	if mi := optionOf(t, h)["_mi"].(map[string]any); mi["valueDigits"] != 3.0 || mi["showValues"] != true {
		t.Errorf("heatmap meta %v, want showValues with 3 digits", mi)
	}
}

// TestDivergingAround: the white middle of the scale is the given centre, the scale is
// symmetric about it (covering the data, or the ColorRange bounds), and the legend names it.
func TestDivergingAround(t *testing.T) {
	for _, tc := range []struct {
		name   string
		extra  []Option
		lo, hi float64
	}{
		{"data", nil, 0.015, 0.235},
		{"range", []Option{ColorRange(0.1, 0.3)}, -0.05, 0.3},
	} {
		h := Heatmap(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a", "b"}, []string{"r"}, [][]float64{{0.09, 0.235}},
			append([]Option{DivergingAround(0.125)}, tc.extra...)...)
		o := optionOf(t, h)
		vm := o["visualMap"].([]any)[0].(map[string]any)
		lo, hi := vm["min"].(float64), vm["max"].(float64)
		if math.Abs(lo-tc.lo) > 1e-12 || math.Abs(hi-tc.hi) > 1e-12 {
			t.Errorf("%s: scale %v..%v, want %v..%v centred on 0.125", tc.name, lo, hi, tc.lo, tc.hi)
		}
		if txt := fmt.Sprint(vm["text"]); txt != "[ white = 0.125]" {
			t.Errorf("%s: legend text %s, want it to name the centre", tc.name, txt)
		}
		if mi := o["_mi"].(map[string]any); mi["center"] != 0.125 {
			t.Errorf("%s: meta centre %v, want 0.125", tc.name, mi["center"])
		}
	}
}

// TestCategories: a categorical heatmap's legend names every code in a colour of its own, and
// a cell that is not a code is an error.
func TestCategories(t *testing.T) {
	names := []string{"not represented", "dedicated dimension", "superposition"}
	h := Heatmap(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a", "b", "c"}, []string{"r"}, [][]float64{{0, 1, 2}}, Categories(names...))
	o := optionOf(t, h)
	vm := o["visualMap"].([]any)[0].(map[string]any)
	pieces := vm["pieces"].([]any)
	if vm["type"] != "piecewise" || len(pieces) != 3 {
		t.Fatalf("visualMap %v, want 3 pieces", vm)
	}
	colors := map[any]bool{}
	for i, p := range pieces {
		p := p.(map[string]any)
		if p["value"] != float64(i) || p["label"] != names[i] {
			t.Errorf("piece %d = %v, want value %d labelled %q", i, p, i, names[i])
		}
		colors[p["color"]] = true
	}
	if len(colors) != 3 {
		t.Errorf("pieces share colours: %v", pieces)
	}
	// The plot leaves room for the names beside the legend's swatches (they once ran over the cells).
	grid := o["grid"].([]any)[0].(map[string]any)
	if right, _ := strconv.Atoi(fmt.Sprint(grid["right"])); right < labelWidth(names)+40 {
		t.Errorf("grid right margin %v leaves no room for the legend's names (%d px)", grid["right"], labelWidth(names))
	}
	bad := Heatmap(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []string{"a"}, []string{"r"}, [][]float64{{1.5}}, Categories(names...))
	if bad.Err() == nil {
		t.Error("a cell value 1.5 is not a category code, but no error")
	}
}

// TestSinglePointLine: a line series of one point shows it as a visible marker, since no line
// is drawn through it.
func TestSinglePointLine(t *testing.T) {
	l := Lines(Spec{Title: "t", X: "x", Y: "y", Caption: "c"}, []Series{{Name: "one", X: []float64{64}, Y: []float64{4.7}}, {Name: "two", X: []float64{1, 2}, Y: []float64{1, 2}}})
	series := optionOf(t, l)["series"].([]any)
	one := series[0].(map[string]any)["data"].([]any)[0].(map[string]any)
	if one["symbolSize"] != 9.0 {
		t.Errorf("single point %v, want symbolSize 9", one)
	}
	two := series[1].(map[string]any)["data"].([]any)[0].(map[string]any)
	if _, ok := two["symbolSize"]; ok {
		t.Errorf("a point of a real line %v has its own symbol size", two)
	}
}

// TestYRange: a bounded score's axis is its natural range (a copying score's -1..1, where
// ECharts chose ±1.2), and a value the range would cut off is an error, not a clipped bar.
func TestYRange(t *testing.T) {
	s := Spec{Title: "t", X: "head", Y: "score", Caption: "c"}
	o := optionOf(t, Bars(s, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{0.93, -0.4}}}, YRange(-1, 1)))
	if y := axis(o, "yAxis"); fmt.Sprint(y["min"], " ", y["max"]) != "-1 1" {
		t.Errorf("bars y axis %v to %v, want -1 to 1", y["min"], y["max"])
	}
	o = optionOf(t, Lines(s, []Series{{Name: "s", X: []float64{0, 1}, Y: []float64{0.2, 0.3}}}, YRange(0, 1)))
	if y := axis(o, "yAxis"); fmt.Sprint(y["min"], " ", y["max"]) != "0 1" {
		t.Errorf("lines y axis %v to %v, want 0 to 1", y["min"], y["max"])
	}
	for _, c := range []*Chart{
		Bars(s, []string{"a"}, []Series{{Name: "s", Y: []float64{1.5}}}, YRange(-1, 1)),
		Bars(s, []string{"a"}, []Series{{Name: "s", Y: []float64{0.5}}}, YRange(-1, 1), HLine(2, "x")),
		Bars(s, []string{"a"}, []Series{{Name: "s", Y: []float64{0.5}}}, YRange(1, -1)),
		Heatmap(s, []string{"a"}, []string{"b"}, [][]float64{{1}}, YRange(0, 1)),
	} {
		if c.Err() == nil {
			t.Errorf("%v: no error", c.spec)
		}
	}
	// The right axis of YRight: from none to all features.
	o = optionOf(t, Lines(s, []Series{{Name: "D*", X: []float64{1, 2}, Y: []float64{1, 0.5}}, {Name: "n", X: []float64{1, 2}, Y: []float64{4.995, 5.001}, RightAxis: true}},
		YRight("features"), YRightRange(0, 20)))
	if y := o["yAxis"].([]any)[1].(map[string]any); fmt.Sprint(y["min"], " ", y["max"]) != "0 20" {
		t.Errorf("right axis %v to %v, want 0 to 20", y["min"], y["max"])
	}
	if Lines(s, []Series{{Name: "n", X: []float64{1}, Y: []float64{21}, RightAxis: true}}, YRight("features"), YRightRange(0, 20)).Err() == nil {
		t.Error("a right-axis value past YRightRange: no error")
	}
	if err := Bars(s, []string{"a"}, []Series{{Name: "s", Y: []float64{1 + 1e-12}}}, YRange(-1, 1)).Err(); err != nil {
		t.Errorf("a ratio's rounding past 1: %v", err)
	}
}

// TestVLineLabelAbove: a vertical line's label sits above the plot (inside it, turned along
// the line, "loss bump" lay across the curves it marks), with room made for it.
func TestVLineLabelAbove(t *testing.T) {
	s := Spec{Title: "t", X: "step", Y: "score", Caption: "c"}
	series := []Series{{Name: "a", X: []float64{1, 10}, Y: []float64{0, 1}}}
	plain := optionOf(t, Lines(s, series))
	o := optionOf(t, Lines(s, series, VLine(5, "loss bump"), HLine(0.4, "threshold")))
	data := o["series"].([]any)[0].(map[string]any)["markLine"].(map[string]any)["data"].([]any)
	for _, d := range data {
		item := d.(map[string]any)
		label, _ := item["label"].(map[string]any)
		if _, vertical := item["xAxis"]; vertical && (label == nil || label["position"] != "end") {
			t.Errorf("vertical line's label %v, want position end (above the plot)", label)
		}
		if _, horizontal := item["yAxis"]; horizontal && label != nil {
			t.Errorf("horizontal line's label changed to %v", label)
		}
	}
	top := func(o map[string]any) string { return fmt.Sprint(o["grid"].([]any)[0].(map[string]any)["top"]) }
	if top(o) == top(plain) {
		t.Errorf("grid top %s with a vertical line's label above the plot, as without", top(o))
	}
}

// TestCloseHLineLabels: two reference lines a few pixels apart (2/5 and 3/8 on a 0-1 axis)
// get their labels on different sides, where both labels once sat above their lines and
// overlapped; lines far apart keep the default.
func TestCloseHLineLabels(t *testing.T) {
	s := Spec{Title: "t", X: "x", Y: "D_i", Caption: "c"}
	series := []Series{{Name: "a", X: []float64{1, 10}, Y: []float64{0, 1}}}
	positions := func(o map[string]any) map[float64]any {
		out := map[float64]any{}
		data := o["series"].([]any)[0].(map[string]any)["markLine"].(map[string]any)["data"].([]any)
		for _, d := range data {
			item := d.(map[string]any)
			if y, ok := item["yAxis"].(float64); ok {
				out[y] = nil
				if l, ok := item["label"].(map[string]any); ok {
					out[y] = l["position"]
				}
			}
		}
		return out
	}
	o := optionOf(t, Lines(s, series, HLine(1, "1"), HLine(0.5, "1/2"), HLine(0.4, "2/5"), HLine(0.375, "3/8")))
	got := positions(o)
	if got[0.4] != nil || got[0.375] != "insideEndBottom" || got[0.5] != nil || got[1] != nil {
		t.Errorf("label positions %v, want 3/8 under its line and the others by default", got)
	}
	o = optionOf(t, Bars(s, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{0, 1}}}, HLine(0.4, "2/5"), HLine(0.375, "3/8"), HLine(0.36, "x")))
	got = positions(o)
	if got[0.375] != "insideEndBottom" || got[0.36] != "insideStartTop" {
		t.Errorf("bars: label positions %v, want 3/8 under its line and x at the left", got)
	}
}

// TestLegendPrecision: a small colour scale's legend keeps two significant digits (a bias
// scale of ±0.0004 read "0.000" and "-0.000"); ordinary scales keep 3 decimals.
func TestLegendPrecision(t *testing.T) {
	s := Spec{Title: "t", X: "feature", Y: "bias", Caption: "c"}
	for _, tc := range []struct {
		lo, hi float64
		want   float64
	}{{-0.0004, 0.0004, 5}, {-0.001, 0.001, 4}, {-0.03, 0.03, 3}, {0, 2.6, 3}} {
		o := optionOf(t, Heatmap(s, []string{"a", "b"}, []string{"b_i"}, [][]float64{{tc.lo, tc.hi}}, Diverging()))
		if got := o["visualMap"].([]any)[0].(map[string]any)["precision"]; got != tc.want {
			t.Errorf("scale %g..%g: legend precision %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

// TestBarsMarkVisible: a reference line above every bar widens the value axis (the norm
// bars' line at 1 vanished when all bars stopped at 0.8).
func TestBarsMarkVisible(t *testing.T) {
	s := Spec{Title: "t", X: "feature", Y: "norm", Caption: "c"}
	o := optionOf(t, Bars(s, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{0.8, 0.2}}}, HLine(1, "1")))
	if y := axis(o, "yAxis"); y["max"] == nil || y["max"].(float64) <= 1 {
		t.Errorf("y axis up to %v, want past the line at 1", y["max"])
	}
	o = optionOf(t, Bars(s, []string{"a", "b"}, []Series{{Name: "s", Y: []float64{1.2, 0.2}}}, HLine(1, "1")))
	if y := axis(o, "yAxis"); y["min"] != nil || y["max"] != nil {
		t.Errorf("y axis fixed to %v..%v though the bars reach the line", y["min"], y["max"])
	}
}

// TestEqualAxesTicks: the symmetric axes of EqualAxes have ticks that land on their ends
// (ECharts' 0.5 steps on ±1.2 wrote "-1.2" against "-1").
func TestEqualAxesTicks(t *testing.T) {
	s := Spec{Title: "t", X: "x", Y: "y", Caption: "c"}
	o := optionOf(t, Scatter(s, []Series{{Name: "W", X: []float64{1.1, -0.3}, Y: []float64{0.2, -0.9}}}, EqualAxes()))
	for _, name := range []string{"xAxis", "yAxis"} {
		ax := axis(o, name)
		m, step := ax["max"].(float64), ax["interval"]
		if step == nil {
			t.Fatalf("%s: no tick interval", name)
		}
		if n := m / step.(float64); math.Abs(n-math.Round(n)) > 1e-9 {
			t.Errorf("%s: ticks of %v do not land on the end %v", name, step, m)
		}
	}
}

// TestDrawAtOnce: a series of thousands of points is drawn in one frame, not 400 a frame (a
// screenshot of 3,200 points showed the first 1,200).
func TestDrawAtOnce(t *testing.T) {
	s := Spec{Title: "t", X: "x", Y: "y", Caption: "c"}
	xs := make([]float64, 3200)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	o := optionOf(t, Scatter(s, []Series{{Name: "D_i", X: xs, Y: xs}}, LogX()))
	if p := o["series"].([]any)[0].(map[string]any)["progressive"]; p != 0.0 {
		t.Errorf("progressive %v, want 0 (all points drawn at once)", p)
	}
}
