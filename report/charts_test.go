package report

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/viz"
)

// chartOption is the part of an embedded ECharts option the rules read.
type chartOption struct {
	Title     struct{ Text string } `json:"title"`
	XAxis     []axisOption          `json:"xAxis"`
	YAxis     []axisOption          `json:"yAxis"`
	VisualMap []struct {
		Type      string
		Min, Max  float64
		Dimension *int
		Pieces    []struct {
			Value *float64
			Label string
		}
	} `json:"visualMap"`
	Series []struct {
		Type     string
		Data     []json.RawMessage
		MarkLine *struct{ Data []json.RawMessage } `json:"markLine"`
	} `json:"series"`
	Meta struct {
		Kind   string
		Center *float64 // the white middle of a scale centred on a baseline (viz.DivergingAround)
	} `json:"_mi"`
}

type axisOption struct {
	Type      string
	Name      string
	Data      []string
	Min, Max  *float64
	AxisLabel *struct{ Interval string }
}

func (o chartOption) title() string {
	return o.Title.Text
}

var optionRE = regexp.MustCompile(`(?s)<script type="application/json" id="mi-chart-\d+-option">(.*?)</script>`)

// chartOptions reads every chart's option embedded in a page.
func chartOptions(t *testing.T, r *viz.Report) []chartOption {
	t.Helper()
	var out []chartOption
	for _, m := range optionRE.FindAllStringSubmatch(mustHTML(t, r), -1) {
		var o chartOption
		if err := json.Unmarshal([]byte(m[1]), &o); err != nil {
			t.Fatalf("chart option: %v", err)
		}
		out = append(out, o)
	}
	if len(out) != r.Charts() {
		t.Fatalf("%d chart options for %d charts", len(out), r.Charts())
	}
	return out
}

// points returns the (x, y) points of an xy chart's series, and of a heatmap its values.
func points(o chartOption) (xs, ys, vs []float64) {
	for _, s := range o.Series {
		for _, d := range s.Data {
			var v struct{ Value []any }
			if json.Unmarshal(d, &v) != nil || len(v.Value) < 2 {
				continue
			}
			f := func(a any) float64 {
				if x, ok := a.(float64); ok {
					return x
				}
				return math.NaN()
			}
			xs, ys = append(xs, f(v.Value[0])), append(ys, f(v.Value[1]))
			if len(v.Value) > 2 {
				vs = append(vs, f(v.Value[2]))
			}
		}
	}
	return xs, ys, vs
}

// checkChartRules checks the rules that keep a page's charts from misleading:
//   - a colour scale of signed values is centred on zero (min = -max);
//   - every category of a category axis is labelled (interval 0) when the axis has room for
//     its labels (40 categories or fewer here);
//   - a log axis spans the data, not the decades around it;
//   - a reference line (a threshold, a loss bump) lies within its axis.
func checkChartRules(t *testing.T, page string, opts []chartOption) {
	t.Helper()
	for _, o := range opts {
		name := page + ": " + o.title()
		_, _, vs := points(o)
		for _, vm := range o.VisualMap {
			if vm.Dimension != nil {
				continue // a bar chart's colour by a second value
			}
			if vm.Type == "piecewise" {
				// A categorical scale: every piece named, every cell one of the pieces.
				codes := map[float64]bool{}
				for _, p := range vm.Pieces {
					if p.Value == nil || strings.TrimSpace(p.Label) == "" {
						t.Errorf("%s: a piece of the colour legend has no value or no name", name)
						continue
					}
					codes[*p.Value] = true
				}
				for _, v := range vs {
					if !math.IsNaN(v) && !codes[v] {
						t.Errorf("%s: value %g is none of the legend's categories", name, v)
						break
					}
				}
				continue
			}
			neg := false
			for _, v := range vs {
				neg = neg || v < 0
			}
			if c := o.Meta.Center; c != nil {
				if math.Abs(vm.Min+vm.Max-2**c) > 1e-9 {
					t.Errorf("%s: colour scale [%g, %g] is not centred on its baseline %g", name, vm.Min, vm.Max, *c)
				}
			} else if (neg || vm.Min < 0) && math.Abs(vm.Min+vm.Max) > 1e-12 {
				t.Errorf("%s: signed colour scale [%g, %g] is not centred on zero", name, vm.Min, vm.Max)
			}
			for _, v := range vs {
				if !math.IsNaN(v) && (v < vm.Min-1e-9 || v > vm.Max+1e-9) {
					t.Errorf("%s: value %g outside its colour scale [%g, %g]", name, v, vm.Min, vm.Max)
					break
				}
			}
		}
		for _, ax := range append(append([]axisOption(nil), o.XAxis...), o.YAxis...) {
			// A single category named as its axis reads twice ("b b" on the bias heatmap).
			if ax.Type == "category" && len(ax.Data) == 1 && strings.TrimSpace(ax.Data[0]) == strings.TrimSpace(ax.Name) {
				t.Errorf("%s: the axis %q and its only category read the same", name, ax.Name)
			}
			if ax.Type == "category" && len(ax.Data) > 0 && len(ax.Data) <= 40 && (ax.AxisLabel == nil || ax.AxisLabel.Interval != "0") {
				t.Errorf("%s: %d categories, not all labelled", name, len(ax.Data))
			}
		}
		xs, ys, _ := points(o)
		if o.Meta.Kind == "lines" || o.Meta.Kind == "scatter" {
			for key, ax := range map[string][]axisOption{"xAxis": o.XAxis, "yAxis": o.YAxis} {
				if len(ax) == 0 {
					continue
				}
				vals := xs
				if key == "yAxis" {
					vals = ys
				}
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, v := range vals {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				if ax[0].Min != nil && ax[0].Max != nil {
					lo, hi = *ax[0].Min, *ax[0].Max
				}
				for _, at := range markLines(o, key) {
					if at < lo || at > hi {
						t.Errorf("%s: the line at %s = %g lies outside the axis [%g, %g]", name, key, at, lo, hi)
					}
				}
			}
		}
		// A bar chart's reference line lies within the bars' axis (0 to the tallest bar unless
		// the axis is fixed), or it is not drawn.
		if o.Meta.Kind == "bars" && len(o.YAxis) > 0 {
			lo, hi := 0.0, 0.0
			for _, v := range barValues(o) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			if y := o.YAxis[0]; y.Min != nil && y.Max != nil {
				lo, hi = *y.Min, *y.Max
			}
			for _, at := range markLines(o, "yAxis") {
				if at < lo || at > hi {
					t.Errorf("%s: the line at %g lies outside the bars' axis [%g, %g]", name, at, lo, hi)
				}
			}
		}
		if o.Meta.Kind == "bars" && len(o.YAxis) > 0 && o.YAxis[0].Min != nil && o.YAxis[0].Max != nil {
			for _, v := range barValues(o) {
				if v < *o.YAxis[0].Min || v > *o.YAxis[0].Max {
					t.Errorf("%s: bar %g outside its fixed axis [%g, %g]", name, v, *o.YAxis[0].Min, *o.YAxis[0].Max)
					break
				}
			}
		}
		for i, ax := range [][]axisOption{o.XAxis, o.YAxis} {
			if len(ax) == 0 || ax[0].Type != "log" {
				continue
			}
			vals := xs
			if i == 1 {
				vals = ys
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range vals {
				if v > 0 {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			if lo == hi {
				lo /= 2 // one value: the axis spans a factor of 2 either side
			}
			if ax[0].Min == nil || ax[0].Max == nil {
				t.Errorf("%s: log axis without bounds (ECharts widens it to whole decades)", name)
			} else if *ax[0].Min > lo || *ax[0].Min < lo/1.0001 {
				t.Errorf("%s: log axis starts at %g, the data at %g", name, *ax[0].Min, lo)
			}
		}
	}
}

// markLines returns where a chart's reference lines cross the axis key ("xAxis" for vertical
// lines, "yAxis" for horizontal ones).
func markLines(o chartOption, key string) []float64 {
	var out []float64
	for _, s := range o.Series {
		if s.MarkLine == nil {
			continue
		}
		for _, raw := range s.MarkLine.Data {
			var d map[string]any
			if json.Unmarshal(raw, &d) != nil {
				continue // a segment between two points (FromOrigin), not a reference line
			}
			if at, ok := d[key].(float64); ok {
				out = append(out, at)
			}
		}
	}
	return out
}

// barValues returns the heights of a bar chart's bars.
func barValues(o chartOption) []float64 {
	var out []float64
	for _, s := range o.Series {
		for _, d := range s.Data {
			var v struct{ Value any }
			if json.Unmarshal(d, &v) != nil {
				continue
			}
			switch x := v.Value.(type) {
			case float64:
				out = append(out, x)
			case []any: // [category, height, colour value] (viz.ColorBy)
				if len(x) > 1 {
					if f, ok := x[1].(float64); ok {
						out = append(out, f)
					}
				}
			}
		}
	}
	return out
}

// naturalRange checks that the charts whose title starts with prefix (at least one) draw their
// y axis over a bounded quantity's whole range [lo, hi], not ECharts' round numbers past it.
func naturalRange(t *testing.T, page string, opts []chartOption, prefix string, lo, hi float64) {
	t.Helper()
	found := false
	for _, o := range opts {
		if !strings.HasPrefix(o.title(), prefix) {
			continue
		}
		found = true
		if y := o.YAxis[0]; y.Min == nil || y.Max == nil || *y.Min != lo || *y.Max != hi {
			t.Errorf("%s: %s y axis %v..%v, want the quantity's range %g..%g", page, o.title(), y.Min, y.Max, lo, hi)
		}
	}
	if !found {
		t.Errorf("%s: no chart titled %q...", page, prefix)
	}
}

// sameScale checks that the heatmaps titled in titles share one colour scale.
func sameScale(t *testing.T, page string, opts []chartOption, titles ...string) {
	t.Helper()
	want := ""
	for _, o := range opts {
		for _, title := range titles {
			if o.title() != title || len(o.VisualMap) == 0 {
				continue
			}
			got := fmt.Sprint(o.VisualMap[0].Min, o.VisualMap[0].Max)
			if want == "" {
				want = got
			} else if got != want {
				t.Errorf("%s: %s has colour scale %s, others %s; charts a reader compares share one", page, title, got, want)
			}
		}
	}
}

// TestChartRules builds each page type and checks its embedded charts against the rules.
func TestChartRules(t *testing.T) {
	heads, err := Heads(sampleHeadScores(), "m")
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "heads", chartOptions(t, heads))

	track, err := Track(sampleTrack())
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "track", chartOptions(t, track))

	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 3, DModel: 24, NCtx: 8, DVocab: 30, AttnOnly: true, Seed: 1, InitializerRange: 0.2})
	a, err := circuits.Analyze(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	circ, err := Circuits(a, "m")
	if err != nil {
		t.Fatal(err)
	}
	opts := chartOptions(t, circ)
	checkChartRules(t, "circuits", opts)
	sameScale(t, "circuits", opts, "Q-composition", "K-composition", "V-composition")
	// A copying score lies in [-1, 1] and the axis is that range (ECharts chose ±1.2, past
	// anything a score can reach).
	naturalRange(t, "circuits", opts, "Eigenvalue copying", -1, 1)
	// A composition score means composition only above its random baseline, so the scale is
	// centred there (white): on a scale from 0 a cell below the baseline looked like signal.
	for _, o := range opts {
		if !strings.HasSuffix(o.title(), "-composition") {
			continue
		}
		if b := a.Composition[0].Baseline.Mean; o.Meta.Center == nil || math.Abs(*o.Meta.Center-b) > 1e-9 {
			t.Errorf("circuits: %s colour scale not centred on the random baseline %.4f", o.title(), b)
		}
	}

	pm := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, Seed: 2, InitializerRange: 0.3})
	clean, corrupted := []int{3, 7, 1, 7, 2}, []int{3, 8, 1, 7, 2}
	act, err := circuits.Patch(pm, clean, corrupted, 1, 4, circuits.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dla, err := circuits.DirectLogitAttribution(pm, clean, len(clean), -1, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := Patch(PatchInput{Model: "m", Activation: act, DLA: dla})
	if err != nil {
		t.Fatal(err)
	}
	opts = chartOptions(t, patch)
	checkChartRules(t, "patch", opts)
	sameScale(t, "patch", opts, "Residual stream", "Attention output", "MLP output", "Heads (every position)", "Heads by position")

	rep, err := Repeated(sampleRepeated())
	if err != nil {
		t.Fatal(err)
	}
	sr := sampleRepeated()
	ropts := chartOptions(t, rep)
	checkChartRules(t, "repeated", ropts)
	// The prefix-matching chart draws the induction-head threshold, so that its axis shows how
	// far below formation the scores are (without it a tiny study's 0.027-0.033 filled the chart).
	found := false
	for _, o := range ropts {
		if !strings.HasPrefix(o.title(), "Final prefix matching") {
			continue
		}
		found = true
		if at := markLines(o, "yAxis"); !slices.Contains(at, sr.Threshold) {
			t.Errorf("repeated: %s draws lines at %v, not the induction threshold %g", o.title(), at, sr.Threshold)
		}
	}
	if !found {
		t.Error("repeated: no prefix-matching chart")
	}

	for _, name := range superposition.ExperimentNames() {
		sp, err := Superposition(spResult(t, name))
		if err != nil {
			t.Fatal(err)
		}
		opts := chartOptions(t, sp)
		checkChartRules(t, "superposition "+name, opts)
		for _, prefix := range []string{"W^T W", "Bias b", "Neuron x feature weights W ", "Feature norms ||W_i||", "Neuron monosemanticity", "Phase ", "Norm ||W_extra||", "Interference of the extra"} {
			var titles []string
			for _, o := range opts {
				if strings.HasPrefix(o.title(), prefix) {
					titles = append(titles, o.title())
				}
			}
			sameScale(t, "superposition "+name, opts, titles...)
		}
		for _, o := range opts {
			if strings.HasPrefix(o.title(), "Neuron monosemanticity") {
				naturalRange(t, "superposition "+name, []chartOption{o}, o.title(), 0, 1)
			}
		}
		// Features represented run from none to all on the right axis (fitted to the data,
		// 4.995 to 5.001 turned rounding into a swing).
		for _, o := range opts {
			if strings.HasPrefix(o.title(), "D* and represented features") {
				if len(o.YAxis) < 2 || o.YAxis[1].Min == nil || *o.YAxis[1].Min != 0 || o.YAxis[1].Max == nil || *o.YAxis[1].Max < 1 {
					t.Errorf("superposition %s: %s right axis does not run from 0 to the number of features", name, o.title())
				}
			}
		}
		if name == "correlated" {
			naturalRange(t, "superposition correlated", opts, "Mean cosine within", -1, 1)
		}
		// A cosine and variance explained cannot pass 1: their axes end there (ECharts drew
		// MMCS up to 1.02).
		for _, o := range opts {
			for _, prefix := range []string{"MMCS against", "Variance explained against", "Sparsity against reconstruction"} {
				if strings.HasPrefix(o.title(), prefix) {
					if y := o.YAxis[0]; y.Max == nil || *y.Max != 1 || y.Min == nil || *y.Min >= 1 {
						t.Errorf("superposition %s: %s y axis %v..%v, want it to end at 1", name, o.title(), y.Min, y.Max)
					}
				}
			}
		}
		// A phase is a category, not a number: the legend names the three phases (a
		// continuous 0-2 scale once said "0.000" and "2.000").
		for _, o := range opts {
			if !strings.HasPrefix(o.title(), "Phase ") {
				continue
			}
			var got []string
			for _, vm := range o.VisualMap {
				for _, p := range vm.Pieces {
					got = append(got, p.Label)
				}
			}
			if want := "[not represented dedicated dimension superposition]"; fmt.Sprint(got) != want {
				t.Errorf("superposition %s: %s legend names %v, want %s", name, o.title(), got, want)
			}
		}
		// The interference colours of the norm bars are absolute: from 0 (a dimension of
		// its own) to at least 1 (an antipodal pair), not a chart's own min-max.
		for _, o := range opts {
			if strings.HasPrefix(o.title(), "Feature norms ||W_i||") && (len(o.VisualMap) == 0 || o.VisualMap[0].Min != 0 || o.VisualMap[0].Max < 1) {
				t.Errorf("superposition %s: %s colours interference on %v, want [0, >= 1]", name, o.title(), o.VisualMap)
			}
		}
	}
}
