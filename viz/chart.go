package viz

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Spec is what every chart must say about itself: a title, the names of both axes, and a
// one-line caption, rendered under the chart, that tells the reader how to read it.
// All four are required; a chart without them makes the report fail to render.
type Spec struct {
	Title   string
	X       string // x-axis name
	Y       string // y-axis name
	Caption string // one line: how to read the chart
}

// Series is one named set of points. Lines and Scatter use X and Y (equal lengths);
// Bars uses Y only, one value per category. NaN and ±Inf values are left out of the plot.
type Series struct {
	Name string
	X, Y []float64
	// Labels, if set, names each point (one per point); the name shows in the tooltip.
	Labels []string
	// RightAxis plots the series against a second y axis on the right; the chart needs
	// the YRight option to name that axis.
	RightAxis bool
}

type kind string

const (
	kindHeatmap kind = "heatmap"
	kindBars    kind = "bars"
	kindScatter kind = "scatter"
	kindLines   kind = "lines"
)

type mark struct {
	at    float64
	label string
}

// Chart is one chart of a report, built by Heatmap, Bars, Scatter or Lines and placed on a
// page with Report.Add. Mistakes in its input are kept and reported when the page renders.
type Chart struct {
	kind   kind
	spec   Spec
	height int
	errs   []error

	// Heatmap.
	xCats, yCats []string
	z            [][]float64
	diverging    bool
	center       float64  // the diverging scale's white value (DivergingAround; else 0)
	categories   []string // names of the integer codes 0..n-1 of a categorical heatmap (Categories)
	hasRange     bool
	lo, hi       float64
	showValues   bool
	valueDigits  int // > 0: cell values with this many decimals (ShowValuesFixed)

	// Bars, Scatter, Lines.
	series     []Series
	logX, logY bool
	vlines     []mark
	hlines     []mark
	yRight     string
	colorName  string
	colorBy    []float64
	equalAxes  bool
	fromOrigin bool
	hasYRange  bool
	ylo, yhi   float64 // YRange
	hasRRange  bool
	rlo, rhi   float64 // YRightRange

	xRotate float64 // set at render: how far the category x labels turn
}

// Option changes how a chart is drawn. Each option says which chart kinds accept it;
// given to any other kind it is an error reported at render time.
type Option func(*Chart)

// Colour scales.
var (
	sequentialColors = []string{"#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"}
	// divergingColors run blue (negative) through white (zero) to red (positive).
	divergingColors = []string{"#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"}
	viridisColors   = []string{"#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"}
	paletteColors   = []string{"#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"}
)

const defaultHeight = 420

// SequentialColors returns the colour scale of unsigned heatmaps, from 0 (lightest) to the
// maximum (darkest), for pages that draw their own charts in the same colours.
func SequentialColors() []string { return append([]string(nil), sequentialColors...) }

// Heatmap draws z as a grid of coloured cells: z[i][j] is the cell in row y[i] (rows run top
// to bottom, as in a matrix) and column x[j]. NaN cells are left blank (e.g. the masked half of
// an attention pattern). The colour scale spans the data unless ColorRange or Diverging is given.
func Heatmap(s Spec, x, y []string, z [][]float64, options ...Option) *Chart {
	c := newChart(kindHeatmap, s)
	c.xCats, c.yCats, c.z = x, y, z
	if len(x) == 0 || len(y) == 0 {
		c.fail("heatmap needs at least one column and one row label")
	}
	if len(z) != len(y) {
		c.fail("heatmap has %d rows of values but %d row labels", len(z), len(y))
	}
	for i, row := range z {
		if len(row) != len(x) {
			c.fail("heatmap row %d has %d values but there are %d column labels", i, len(row), len(x))
			break
		}
	}
	return c.apply(options)
}

// Bars draws one bar per category for each series (grouped side by side when there are several).
// Each series' Y holds one value per category; X must be empty.
func Bars(s Spec, categories []string, series []Series, options ...Option) *Chart {
	c := newChart(kindBars, s)
	c.xCats, c.series = categories, series
	if len(categories) == 0 {
		c.fail("bars need at least one category")
	}
	if len(series) == 0 {
		c.fail("bars need at least one series")
	}
	for _, sr := range series {
		if len(sr.Y) != len(categories) {
			c.fail("bar series %q has %d values for %d categories", sr.Name, len(sr.Y), len(categories))
		}
		if len(sr.X) != 0 {
			c.fail("bar series %q sets X; bars take one Y value per category", sr.Name)
		}
		if sr.Labels != nil {
			c.fail("bar series %q sets Labels; the categories name the bars", sr.Name)
		}
	}
	return c.apply(options)
}

// Scatter draws each series as unconnected points at (X[i], Y[i]).
func Scatter(s Spec, series []Series, options ...Option) *Chart {
	c := newChart(kindScatter, s)
	c.series = series
	c.checkXY()
	return c.apply(options)
}

// Lines draws each series as a line through (X[i], Y[i]) in the order given.
func Lines(s Spec, series []Series, options ...Option) *Chart {
	c := newChart(kindLines, s)
	c.series = series
	c.checkXY()
	return c.apply(options)
}

// Diverging colours a heatmap of signed values on a blue-white-red scale centred on zero and
// symmetric (-m to m, m the largest magnitude, or the ColorRange bounds' largest magnitude).
// Heatmap only.
func Diverging() Option {
	return func(c *Chart) {
		if c.accepts("Diverging", kindHeatmap) {
			c.diverging = true
		}
	}
}

// DivergingAround is Diverging with the white middle of the scale at center instead of zero:
// for a score that means nothing until it leaves a baseline (a composition score beside its
// random baseline), cells below center are blue and above red, and the legend says so
// ("white = 0.125"; the caption says what the centre is). The scale runs from center-m to
// center+m, m the largest distance of a value (or of a ColorRange bound) from center.
// Heatmap only.
func DivergingAround(center float64) Option {
	return func(c *Chart) {
		if !c.accepts("DivergingAround", kindHeatmap) {
			return
		}
		if math.IsNaN(center) || math.IsInf(center, 0) {
			c.fail("DivergingAround(%g): need a finite centre", center)
			return
		}
		c.diverging, c.center = true, center
	}
}

// ColorRange fixes a heatmap's colour scale to [lo, hi] (for example [0, 1] for attention
// weights, so heads can be compared by colour), or the scale of the bar colours of ColorBy
// (so bars on several charts compare by colour). Heatmaps and bars.
func ColorRange(lo, hi float64) Option {
	return func(c *Chart) {
		if !c.accepts("ColorRange", kindHeatmap, kindBars) {
			return
		}
		if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			c.fail("ColorRange(%g, %g): need finite lo < hi", lo, hi)
			return
		}
		c.hasRange, c.lo, c.hi = true, lo, hi
	}
}

// Categories makes a heatmap categorical: each cell holds an integer code 0..len(names)-1, drawn
// in a colour of its own, and the legend names every code (names[code]) instead of showing a
// continuous scale whose numbers mean nothing (a phase diagram: not represented, dedicated,
// superposition). The tooltip names a cell's category. Heatmap only.
func Categories(names ...string) Option {
	return func(c *Chart) {
		if !c.accepts("Categories", kindHeatmap) {
			return
		}
		if len(names) < 2 {
			c.fail("Categories needs at least two names")
			return
		}
		c.categories = names
		for _, row := range c.z {
			for _, v := range row {
				if finite(v) && (v != math.Trunc(v) || v < 0 || int(v) >= len(names)) {
					c.fail("Categories: cell value %g is not a code 0..%d", v, len(names)-1)
					return
				}
			}
		}
	}
}

// ShowValues writes each cell's value inside it; use it for small heatmaps only. Heatmap only.
func ShowValues() Option {
	return func(c *Chart) {
		if c.accepts("ShowValues", kindHeatmap) {
			c.showValues = true
		}
	}
}

// ShowValuesFixed is ShowValues with every value written with digits decimals, in the cells
// and the tooltips, so that the chart reads the same digits as the page's tables and text.
// Heatmap only.
func ShowValuesFixed(digits int) Option {
	return func(c *Chart) {
		if c.accepts("ShowValuesFixed", kindHeatmap) {
			c.showValues, c.valueDigits = true, max(digits, 1)
		}
	}
}

// LogX puts the x axis on a log scale; points with x <= 0 are left out. Lines and Scatter.
func LogX() Option {
	return func(c *Chart) {
		if c.accepts("LogX", kindLines, kindScatter) {
			c.logX = true
		}
	}
}

// LogY puts the y axis on a log scale; points with y <= 0 are left out. Lines and Scatter.
func LogY() Option {
	return func(c *Chart) {
		if c.accepts("LogY", kindLines, kindScatter) {
			c.logY = true
		}
	}
}

// VLine draws a labelled dashed vertical line at x, e.g. VLine(1200, "loss bump").
// Lines and Scatter.
func VLine(x float64, label string) Option {
	return func(c *Chart) {
		if c.accepts("VLine", kindLines, kindScatter) {
			c.vlines = append(c.vlines, mark{x, label})
		}
	}
}

// HLine draws a labelled dashed horizontal reference line at y on the left y axis,
// e.g. HLine(0.5, "D = 1/2"). Lines, Scatter and Bars.
func HLine(y float64, label string) Option {
	return func(c *Chart) {
		if c.accepts("HLine", kindLines, kindScatter, kindBars) {
			c.hlines = append(c.hlines, mark{y, label})
		}
	}
}

// YRange fixes the left y axis to [lo, hi], the natural range of a bounded quantity (a
// copying score in [-1, 1], a fraction in [0, 1]), instead of ECharts' round numbers beyond
// the data (±1.2 for scores that cannot leave ±1); the caption should name the range. A value
// outside it is an error at render time, since the axis would cut it off. Bars, Lines and
// Scatter.
func YRange(lo, hi float64) Option {
	return func(c *Chart) {
		if !c.accepts("YRange", kindBars, kindLines, kindScatter) {
			return
		}
		if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			c.fail("YRange(%g, %g): need finite lo < hi", lo, hi)
			return
		}
		c.hasYRange, c.ylo, c.yhi = true, lo, hi
	}
}

// YRightRange is YRange for the right axis of YRight: a count of features drawn from 0 to
// their number, not ECharts' fit to the data (4.995 to 5.001 made rounding noise a swing).
// Lines and Scatter with YRight.
func YRightRange(lo, hi float64) Option {
	return func(c *Chart) {
		if !c.accepts("YRightRange", kindLines, kindScatter) {
			return
		}
		if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			c.fail("YRightRange(%g, %g): need finite lo < hi", lo, hi)
			return
		}
		c.hasRRange, c.rlo, c.rhi = true, lo, hi
	}
}

// YRight adds a second y axis on the right, named name, for the series with RightAxis set
// (e.g. the loss beside head scores). Lines and Scatter.
func YRight(name string) Option {
	return func(c *Chart) {
		if !c.accepts("YRight", kindLines, kindScatter) {
			return
		}
		if strings.TrimSpace(name) == "" {
			c.fail("YRight needs an axis name")
		}
		c.yRight = name
	}
}

// ColorBy colours each bar by a second value, one per category, with a colour legend named
// name (e.g. feature norms coloured by interference). Bars with a single series only.
func ColorBy(name string, values []float64) Option {
	return func(c *Chart) {
		if !c.accepts("ColorBy", kindBars) {
			return
		}
		if len(c.series) != 1 {
			c.fail("ColorBy needs exactly one bar series, got %d", len(c.series))
		}
		if len(values) != len(c.xCats) {
			c.fail("ColorBy %q has %d values for %d categories", name, len(values), len(c.xCats))
		}
		if strings.TrimSpace(name) == "" {
			c.fail("ColorBy needs a name for its colour legend")
		}
		c.colorName, c.colorBy = name, values
	}
}

// EqualAxes gives both axes the same symmetric range around zero and makes the plot square,
// so angles and lengths read true (feature directions in 2-D). Scatter and Lines.
func EqualAxes() Option {
	return func(c *Chart) {
		if c.accepts("EqualAxes", kindScatter, kindLines) {
			c.equalAxes = true
		}
	}
}

// FromOrigin draws a line from (0, 0) to every point, showing points as vectors. Scatter only.
func FromOrigin() Option {
	return func(c *Chart) {
		if c.accepts("FromOrigin", kindScatter) {
			c.fromOrigin = true
		}
	}
}

// Height sets the chart's height in CSS pixels (default 420). Any chart.
func Height(px int) Option {
	return func(c *Chart) {
		if px < 100 || px > 4000 {
			c.fail("Height(%d): want 100..4000 pixels", px)
			return
		}
		c.height = px
	}
}

func newChart(k kind, s Spec) *Chart {
	c := &Chart{kind: k, spec: s, height: defaultHeight}
	for _, f := range []struct{ name, v string }{{"Title", s.Title}, {"X", s.X}, {"Y", s.Y}, {"Caption", s.Caption}} {
		if strings.TrimSpace(f.v) == "" {
			c.fail("Spec.%s is empty; every chart needs a title, both axis names and a caption", f.name)
		}
	}
	if strings.ContainsAny(s.Caption, "\r\n") {
		c.fail("Spec.Caption must be one line")
	}
	return c
}

func (c *Chart) apply(options []Option) *Chart {
	for _, o := range options {
		o(c)
	}
	return c
}

func (c *Chart) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func (c *Chart) accepts(option string, kinds ...kind) bool {
	for _, k := range kinds {
		if c.kind == k {
			return true
		}
	}
	c.fail("option %s does not apply to %s charts", option, c.kind)
	return false
}

func (c *Chart) checkXY() {
	if len(c.series) == 0 {
		c.fail("%s chart needs at least one series", c.kind)
	}
	for _, s := range c.series {
		if len(s.X) != len(s.Y) {
			c.fail("series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
		}
		if s.Labels != nil && len(s.Labels) != len(s.Y) {
			c.fail("series %q has %d labels for %d points", s.Name, len(s.Labels), len(s.Y))
		}
	}
}

// Err reports what is wrong with the chart's input, or nil.
func (c *Chart) Err() error {
	if c == nil {
		return errors.New("nil chart")
	}
	var errs []error
	for _, e := range c.errs {
		errs = append(errs, fmt.Errorf("chart %q: %w", c.spec.Title, e))
	}
	if c.hasYRange {
		tol := 1e-9 * (c.yhi - c.ylo) // rounding of a score computed as a ratio
	check:
		for _, s := range c.series {
			for _, v := range s.Y {
				if finite(v) && !s.RightAxis && (v < c.ylo-tol || v > c.yhi+tol) {
					errs = append(errs, fmt.Errorf("chart %q: series %q has %g outside YRange [%g, %g]", c.spec.Title, s.Name, v, c.ylo, c.yhi))
					break check
				}
			}
		}
		for _, m := range c.hlines {
			if m.at < c.ylo-tol || m.at > c.yhi+tol {
				errs = append(errs, fmt.Errorf("chart %q: line %q at %g outside YRange [%g, %g]", c.spec.Title, m.label, m.at, c.ylo, c.yhi))
			}
		}
	}
	if c.hasRRange {
		tol := 1e-9 * (c.rhi - c.rlo)
		if c.yRight == "" {
			errs = append(errs, fmt.Errorf("chart %q: YRightRange without YRight", c.spec.Title))
		}
	rcheck:
		for _, s := range c.series {
			for _, v := range s.Y {
				if finite(v) && s.RightAxis && (v < c.rlo-tol || v > c.rhi+tol) {
					errs = append(errs, fmt.Errorf("chart %q: series %q has %g outside YRightRange [%g, %g]", c.spec.Title, s.Name, v, c.rlo, c.rhi))
					break rcheck
				}
			}
		}
	}
	if c.yRight == "" {
		for _, s := range c.series {
			if s.RightAxis {
				errs = append(errs, fmt.Errorf("chart %q: series %q is on the right axis but the chart has no YRight option", c.spec.Title, s.Name))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// OptionJSON returns the chart's ECharts option as JSON, for pages that draw charts with
// their own script. It includes a "_mi" key with viz's tooltip hints, which ECharts ignores.
func (c *Chart) OptionJSON() ([]byte, error) {
	opt, err := c.option()
	if err != nil {
		return nil, err
	}
	return json.Marshal(opt)
}

// finite reports whether v can be drawn.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// option builds the ECharts option with go-echarts and returns it as the map go-echarts
// serialises, adjusted where go-echarts' types cannot say what we need.
func (c *Chart) option() (map[string]any, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	var opt map[string]any
	meta := map[string]any{"kind": string(c.kind), "x": c.spec.X, "y": c.spec.Y}
	switch c.kind {
	case kindHeatmap:
		opt = c.heatmapOption(meta)
	case kindBars:
		opt = c.barsOption(meta)
	default:
		opt = c.xyOption()
	}
	opt["animation"] = false
	opt["_mi"] = meta
	return opt, nil
}

func (c *Chart) globals(legend bool, left, right int) []charts.GlobalOpts {
	top := 40
	if legend {
		top = 62
	}
	if len(c.vlines) > 0 {
		top += 16 // the vertical lines' labels above the plot (placeMarkLabels)
	}
	return []charts.GlobalOpts{
		charts.WithTitleOpts(opts.Title{Title: c.spec.Title, Left: "center"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Top: "26", Type: "scroll"}),
		charts.WithGridOpts(opts.Grid{Left: fmt.Sprint(left), Right: fmt.Sprint(right), Top: fmt.Sprint(top), Bottom: fmt.Sprint(24 + c.xNameGap())}),
		charts.WithColorsOpts(paletteColors),
	}
}

func (c *Chart) heatmapOption(meta map[string]any) map[string]any {
	lo, hi := math.Inf(1), math.Inf(-1)
	var data []opts.HeatMapData
	for i, row := range c.z {
		for j, v := range row {
			if !finite(v) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			data = append(data, opts.HeatMapData{Value: [3]any{j, i, v}})
		}
	}
	if len(data) == 0 {
		lo, hi = 0, 1
	}
	if c.hasRange {
		lo, hi = c.lo, c.hi
	}
	colors := sequentialColors
	if c.diverging {
		m := math.Max(math.Abs(lo-c.center), math.Abs(hi-c.center))
		if m == 0 {
			m = 1
		}
		lo, hi, colors = c.center-m, c.center+m, divergingColors
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	hm := charts.NewHeatMap()
	yGap := min(max(labelWidth(c.yCats)+22, 30), 138) // the axis name clear of labels such as "L1H3"
	right := 100                                      // the colour legend
	if c.categories != nil {
		right = max(right, labelWidth(c.categories)+50) // a swatch and the longest name beside it
	}
	plot := chartWidth - yGap - 24 - right
	c.xRotate = c.xLabelRotate(plot)
	hm.SetGlobalOptions(c.globals(false, yGap+24, right)...)
	hm.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: c.spec.X, NameLocation: "middle", NameGap: c.xNameGap(), Data: c.xCats,
			SplitArea: &opts.SplitArea{Show: opts.Bool(false)}, AxisLabel: categoryLabels(len(c.xCats), plot, c.xRotate)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Name: c.spec.Y, NameLocation: "middle", NameGap: yGap, Data: c.yCats, Inverse: opts.Bool(true),
			AxisLabel: categoryLabels(len(c.yCats), c.height-40-24-c.xNameGap(), 0)}),
	)
	hm.SetXAxis(c.xCats)
	hm.AddSeries(c.spec.Title, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(c.showValues)}))
	hm.Validate()
	opt := hm.JSON()
	if len(data) >= 1000 {
		opt = progressiveOff(opt)
	}
	// go-echarts' VisualMap holds min and max as float32 with omitempty, which drops a bound of 0
	// and rounds others, so the colour scale is written here.
	opt["visualMap"] = []map[string]any{{
		"type": "continuous", "min": lo, "max": hi, "calculable": true,
		"orient": "vertical", "right": 10, "top": "middle", "precision": legendPrecision(lo, hi),
		"inRange": map[string]any{"color": colors},
	}}
	if c.diverging && c.center != 0 {
		// The legend's handles show its ends; the text under it names the white middle.
		opt["visualMap"].([]map[string]any)[0]["textGap"] = 22 // clear of the lower handle
		opt["visualMap"].([]map[string]any)[0]["text"] = []string{"", fmt.Sprintf("white = %.3f", c.center)}
		meta["center"] = c.center
	}
	if c.categories != nil {
		// One piece per code, in colours from the sequential scale's ends and middle.
		var pieces []map[string]any
		for i, name := range c.categories {
			at := float64(i) / float64(len(c.categories)-1) * float64(len(sequentialColors)-1)
			pieces = append(pieces, map[string]any{"value": i, "label": name, "color": sequentialColors[int(math.Round(at))]})
		}
		opt["visualMap"] = []map[string]any{{"type": "piecewise", "pieces": pieces, "orient": "vertical", "right": 10, "top": "middle", "align": "left"}}
		meta["categories"] = c.categories
	}
	meta["xLabels"], meta["yLabels"], meta["showValues"] = c.xCats, c.yCats, c.showValues
	if c.valueDigits > 0 {
		meta["valueDigits"] = c.valueDigits
	}
	return opt
}

func (c *Chart) barsOption(meta map[string]any) map[string]any {
	right := 30
	if c.colorBy != nil {
		right = 100
	}
	b := charts.NewBar()
	plot := chartWidth - 80 - right
	c.xRotate = c.xLabelRotate(plot)
	b.SetGlobalOptions(c.globals(len(c.series) > 1, 80, right)...)
	trigger := "axis"
	if c.colorBy != nil {
		trigger = "item"
	}
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: c.spec.X, NameLocation: "middle", NameGap: c.xNameGap(), Data: c.xCats,
			AxisLabel: categoryLabels(len(c.xCats), plot, c.xRotate)}),
		charts.WithYAxisOpts(c.yRanged(c.barsYAxis())),
	)
	b.SetXAxis(c.xCats)
	for si, s := range c.series {
		data := make([]opts.BarData, len(s.Y))
		for i, v := range s.Y {
			switch {
			case !finite(v):
				data[i] = opts.BarData{Value: "-"}
			case c.colorBy != nil:
				data[i] = opts.BarData{Value: [3]any{i, v, drawable(c.colorBy[i])}}
			default:
				data[i] = opts.BarData{Value: v}
			}
		}
		var so []charts.SeriesOpts
		if si == 0 {
			so = c.markLines()
		}
		b.AddSeries(s.Name, data, so...)
	}
	b.Validate()
	opt := c.placeMarkLabels(b.JSON())
	if c.colorBy != nil {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range c.colorBy {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if lo > hi {
			lo, hi = 0, 1
		}
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		if c.hasRange {
			lo, hi = c.lo, c.hi
		}
		opt["visualMap"] = []map[string]any{{
			"type": "continuous", "min": lo, "max": hi, "dimension": 2, "calculable": true,
			"orient": "vertical", "right": 10, "top": "middle", "precision": legendPrecision(lo, hi), "text": []string{c.colorName, ""},
			"inRange": map[string]any{"color": viridisColors},
		}}
		meta["colorName"] = c.colorName
		meta["xLabels"] = c.xCats
	}
	return opt
}

// legendPrecision is how many decimals a colour legend's ends are written with: 3, or enough
// for two significant digits of a small scale (±0.0004 read "0.000" and "-0.000").
func legendPrecision(lo, hi float64) int {
	m := math.Max(math.Abs(lo), math.Abs(hi))
	if m == 0 || m >= 0.1 {
		return 3
	}
	return min(8, max(3, int(math.Ceil(-math.Log10(m)))+1))
}

// barsYAxis is the value axis of a bar chart, widened (as xyOption's) to show a reference line
// the bars do not reach: the norm bars' line at 1 vanished above bars that all stopped at 0.8.
func (c *Chart) barsYAxis() opts.YAxis {
	y := opts.YAxis{Type: "value", Name: c.spec.Y, NameLocation: "middle", NameGap: 56}
	lo, hi := 0.0, 0.0 // bars start at 0
	for _, s := range c.series {
		for _, v := range s.Y {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if rlo, rhi, ok := widen(lo, hi, c.hlines, false); ok {
		y.Min, y.Max = rlo, rhi
	}
	return y
}

// drawable returns v, or "-" (ECharts' missing value) when v cannot be drawn.
func drawable(v float64) any {
	if finite(v) {
		return v
	}
	return "-"
}

func (c *Chart) keep(x, y float64) bool {
	return finite(x) && finite(y) && (!c.logX || x > 0) && (!c.logY || y > 0)
}

func (c *Chart) xyOption() map[string]any {
	right := 30
	if c.yRight != "" {
		right = 80
	}
	axisType := func(log bool) string {
		if log {
			return "log"
		}
		return "value"
	}
	xAxis := opts.XAxis{Type: axisType(c.logX), Name: c.spec.X, NameLocation: "middle", NameGap: 32, Scale: opts.Bool(true)}
	yAxis := opts.YAxis{Type: axisType(c.logY), Name: c.spec.Y, NameLocation: "middle", NameGap: 56, Scale: opts.Bool(true)}
	// ECharts fits a value axis to the data alone, so a reference line outside it (a threshold
	// the scores never reach) would silently vanish: the axis is widened to show every mark.
	if !c.equalAxes {
		lo, hi := c.dataRange(false)
		if rlo, rhi, ok := widen(lo, hi, c.hlines, c.logY); ok {
			yAxis.Min, yAxis.Max = rlo, rhi
		}
		xlo, xhi := c.dataRange(true)
		if rlo, rhi, ok := widen(xlo, xhi, c.vlines, c.logX); ok {
			xAxis.Min, xAxis.Max = rlo, rhi
		}
	}
	// ECharts widens a log axis to whole decades (steps 1 to 1500 drawn from 1 to 10,000),
	// which squeezes the data into part of the plot: a log axis spans the data instead.
	if c.logX || c.logY {
		xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, s := range c.series {
			for i := range s.X {
				if c.keep(s.X[i], s.Y[i]) {
					xlo, xhi = math.Min(xlo, s.X[i]), math.Max(xhi, s.X[i])
					if !s.RightAxis {
						ylo, yhi = math.Min(ylo, s.Y[i]), math.Max(yhi, s.Y[i])
					}
				}
			}
		}
		for _, m := range c.vlines {
			if !c.logX || m.at > 0 {
				xlo, xhi = math.Min(xlo, m.at), math.Max(xhi, m.at)
			}
		}
		for _, m := range c.hlines {
			if !c.logY || m.at > 0 {
				ylo, yhi = math.Min(ylo, m.at), math.Max(yhi, m.at)
			}
		}
		// One value (a single epoch count) spans nothing: the axis is a factor of 2 either
		// side of it, not the decades ECharts would draw (1 to 1,000 around 64).
		if xlo == xhi && xlo > 0 {
			xlo, xhi = xlo/2, xhi*2
		}
		if ylo == yhi && ylo > 0 {
			ylo, yhi = ylo/2, yhi*2
		}
		if c.logX && xlo < xhi {
			xAxis.Min, xAxis.Max = xlo, xhi
		}
		if c.logY && ylo < yhi {
			yAxis.Min, yAxis.Max = ylo, yhi
		}
	}
	yAxis = c.yRanged(yAxis)
	if c.equalAxes {
		m := 0.0
		for _, s := range c.series {
			for i := range s.X {
				if c.keep(s.X[i], s.Y[i]) {
					m = math.Max(m, math.Max(math.Abs(s.X[i]), math.Abs(s.Y[i])))
				}
			}
		}
		if m == 0 {
			m = 1
		}
		m = niceCeil(m * 1.05)
		xAxis.Min, xAxis.Max, xAxis.Scale = -m, m, nil
		yAxis.Min, yAxis.Max, yAxis.Scale = -m, m, nil
	}
	legend := len(c.series) > 1
	trigger := "item"
	if c.kind == kindLines {
		trigger = "axis"
	}
	var rect *charts.RectChart
	var line *charts.Line
	var scatter *charts.Scatter
	if c.kind == kindLines {
		line = charts.NewLine()
		rect = &line.RectChart
	} else {
		scatter = charts.NewScatter()
		rect = &scatter.RectChart
	}
	rect.SetGlobalOptions(c.globals(legend, 80, right)...)
	rect.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithXAxisOpts(xAxis),
		charts.WithYAxisOpts(yAxis),
	)
	if c.yRight != "" {
		ry := opts.YAxis{Type: axisType(c.logY), Name: c.yRight, NameLocation: "middle", NameGap: 50, Position: "right", Scale: opts.Bool(true), SplitLine: &opts.SplitLine{Show: opts.Bool(false)}}
		if c.hasRRange {
			ry.Min, ry.Max, ry.Scale = c.rlo, c.rhi, nil
		}
		rect.ExtendYAxis(ry)
	}
	for si, s := range c.series {
		axis := 0
		if s.RightAxis {
			axis = 1
		}
		var so []charts.SeriesOpts
		if si == 0 {
			so = c.markLines()
		}
		if c.fromOrigin {
			var spokes []opts.MarkLineNameCoordItem
			for i := range s.X {
				if c.keep(s.X[i], s.Y[i]) {
					spokes = append(spokes, opts.MarkLineNameCoordItem{Coordinate0: []any{0, 0}, Coordinate1: []any{s.X[i], s.Y[i]}})
				}
			}
			so = append(so, charts.WithMarkLineNameCoordItemOpts(spokes...), charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
				Symbol: []string{"none", "none"}, Label: &opts.Label{Show: opts.Bool(false)}, LineStyle: &opts.LineStyle{Width: 1.5, Type: "solid"},
			}))
		}
		if line != nil {
			var data []opts.LineData
			for i := range s.X {
				if !c.keep(s.X[i], s.Y[i]) {
					continue
				}
				d := opts.LineData{Value: [2]float64{s.X[i], s.Y[i]}}
				if s.Labels != nil {
					d.Name = s.Labels[i]
				}
				data = append(data, d)
			}
			if len(data) == 1 {
				// A line of one point draws no line: show the point as large as a scatter's
				// (the default 4 px dot was lost on a chart of a single-epoch group).
				data[0].SymbolSize = 9
			}
			so = append(so, charts.WithLineChartOpts(opts.LineChart{YAxisIndex: axis, ShowSymbol: opts.Bool(len(data) <= 60), Symbol: "circle"}))
			line.AddSeries(s.Name, data, so...)
		} else {
			var data []opts.ScatterData
			for i := range s.X {
				if !c.keep(s.X[i], s.Y[i]) {
					continue
				}
				d := opts.ScatterData{Value: [2]float64{s.X[i], s.Y[i]}}
				if s.Labels != nil {
					d.Name = s.Labels[i]
				}
				data = append(data, d)
			}
			so = append(so, charts.WithScatterChartOpts(opts.ScatterChart{YAxisIndex: axis, SymbolSize: 9}))
			scatter.AddSeries(s.Name, data, so...)
		}
	}
	var opt map[string]any
	if line != nil {
		line.Validate()
		opt = line.JSON()
	} else {
		scatter.Validate()
		opt = scatter.JSON()
	}
	if c.equalAxes {
		side := c.height - 110
		opt["grid"] = []map[string]any{{"width": side, "height": side, "left": "center", "top": 62}}
		opt = equalTicks(opt, yAxis.Min.(float64))
	}
	return c.placeMarkLabels(c.drawAtOnce(opt))
}

// drawAtOnce turns off ECharts' progressive rendering (so do heatmaps of 1,000 cells or more),
// which draws a series of more than 3,000 points 400 a frame: a screenshot (or a reader's first look) of the 3,200 D_i of the
// dimensionality page showed the first 1,200 and none of the sparse densities.
func (c *Chart) drawAtOnce(opt map[string]any) map[string]any {
	n := 0
	for _, s := range c.series {
		n += len(s.X)
	}
	if n < 1000 {
		return opt
	}
	return progressiveOff(opt)
}

// progressiveOff sets progressive 0 on every series of opt (edited as JSON: go-echarts' series
// options have no such field).
func progressiveOff(opt map[string]any) map[string]any {
	b, err := json.Marshal(opt)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		return opt
	}
	series, _ := m["series"].([]any)
	for _, s := range series {
		if sm, ok := s.(map[string]any); ok {
			sm["progressive"] = 0
		}
	}
	return m
}

// equalTicks puts the ticks of EqualAxes' symmetric axes [-m, m] at a step that divides m, so
// the ends are ticks too: ECharts' ticks of 0.5 on ±1.2 wrote "-1.2" against "-1".
func equalTicks(opt map[string]any, lo float64) map[string]any {
	m := -lo
	p := math.Pow(10, math.Floor(math.Log10(m)+1e-9))
	div := map[float64]float64{1: 2, 1.2: 4, 1.5: 3, 2: 4, 2.5: 5, 3: 3, 4: 4, 5: 5, 6: 3, 8: 4, 10: 2}[math.Round(m/p*10)/10]
	if div == 0 {
		return opt
	}
	b, err := json.Marshal(opt)
	var out map[string]any
	if err != nil || json.Unmarshal(b, &out) != nil {
		return opt
	}
	for _, key := range []string{"xAxis", "yAxis"} {
		if axes, ok := out[key].([]any); ok && len(axes) > 0 {
			if ax, ok := axes[0].(map[string]any); ok {
				ax["interval"] = m / div
			}
		}
	}
	return out
}

// placeMarkLabels moves each vertical line's label above the plot (inside it, turned along
// the line, "loss bump" lay across the curves it marks) and keeps the labels of horizontal
// lines a few pixels apart from overlapping ("2/5 pentagon" was written over "3/8 square
// antiprism"): of two such lines the lower one's label goes under its line, or to the left
// end when that is taken too.
func (c *Chart) placeMarkLabels(opt map[string]any) map[string]any {
	if len(c.vlines) == 0 && len(c.hlines) < 2 {
		return opt
	}
	pos := c.hlinePositions()
	if len(c.vlines) == 0 && len(pos) == 0 {
		return opt
	}
	// go-echarts' mark line items have no label of their own, so the option is edited as JSON.
	b, err := json.Marshal(opt)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		return opt
	}
	series, _ := m["series"].([]any)
	if len(series) == 0 {
		return opt
	}
	s0, _ := series[0].(map[string]any)
	ml, _ := s0["markLine"].(map[string]any)
	data, _ := ml["data"].([]any)
	for _, d := range data {
		item, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if _, vertical := item["xAxis"]; vertical {
			item["label"] = map[string]any{"show": true, "formatter": "{b}", "position": "end", "distance": 4}
		}
		if y, ok := item["yAxis"].(float64); ok {
			if p, moved := pos[y]; moved {
				item["label"] = map[string]any{"show": true, "formatter": "{b}", "position": p}
			}
		}
	}
	return m
}

// minLabelGap is how many pixels apart two horizontal lines must be for their labels, both
// above their lines at the right end, not to overlap.
const minLabelGap = 18

// hlinePositions returns the label position of each horizontal line whose label must move
// off the default (above the line, right end) to stay clear of a line just above it.
func (c *Chart) hlinePositions() map[float64]string {
	if len(c.hlines) < 2 {
		return nil
	}
	tr := func(v float64) float64 {
		if c.logY {
			return math.Log10(v)
		}
		return v
	}
	var vals []float64
	for _, s := range c.series {
		if s.RightAxis {
			continue
		}
		for _, v := range s.Y {
			if finite(v) && (!c.logY || v > 0) {
				vals = append(vals, tr(v))
			}
		}
	}
	var ys []float64
	for _, h := range c.hlines {
		if !c.logY || h.at > 0 {
			ys = append(ys, h.at)
			vals = append(vals, tr(h.at))
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if c.hasYRange {
		lo, hi = tr(c.ylo), tr(c.yhi)
	}
	if !(hi > lo) {
		return nil
	}
	plot := float64(c.height - 62 - 24 - c.xNameGap())
	slices.Sort(ys)
	out := map[float64]string{}
	prev := "insideEndTop"
	for i := len(ys) - 2; i >= 0; i-- { // top to bottom
		gap := (tr(ys[i+1]) - tr(ys[i])) / (hi - lo) * plot
		p := "insideEndTop"
		if gap < minLabelGap {
			p = "insideEndBottom"
			if prev == "insideEndBottom" {
				p = "insideStartTop"
			}
			out[ys[i]] = p
		}
		prev = p
	}
	return out
}

// yRanged returns y with YRange's bounds, if given.
func (c *Chart) yRanged(y opts.YAxis) opts.YAxis {
	if c.hasYRange {
		y.Min, y.Max, y.Scale = c.ylo, c.yhi, nil
	}
	return y
}

// markLines returns the series options for the chart's VLine and HLine marks.
func (c *Chart) markLines() []charts.SeriesOpts {
	if len(c.vlines) == 0 && len(c.hlines) == 0 {
		return nil
	}
	var so []charts.SeriesOpts
	for _, m := range c.vlines {
		so = append(so, charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: m.label, XAxis: m.at}))
	}
	for _, m := range c.hlines {
		so = append(so, charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: m.label, YAxis: m.at}))
	}
	return append(so, charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
		Symbol:    []string{"none", "none"},
		Label:     &opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "insideEndTop"},
		LineStyle: &opts.LineStyle{Type: "dashed", Color: "#555", Width: 1.5},
	}))
}

// dataRange returns the extremes of the drawn points on the x axis (x) or the left y axis.
func (c *Chart) dataRange(x bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		if !x && s.RightAxis {
			continue
		}
		for i := range s.X {
			if c.keep(s.X[i], s.Y[i]) {
				v := s.Y[i]
				if x {
					v = s.X[i]
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi
}

// widen returns a linear axis range holding [lo, hi] and every mark, rounded out to a step
// of about a fifth of it, when a mark lies outside the data; ok is false when the data holds
// them all (ECharts then chooses), and for log axes, which span the data and marks already.
func widen(lo, hi float64, marks []mark, log bool) (float64, float64, bool) {
	if log || lo > hi {
		return 0, 0, false
	}
	out := false
	for _, m := range marks {
		if m.at < lo || m.at > hi {
			out = true
			lo, hi = math.Min(lo, m.at), math.Max(hi, m.at)
		}
	}
	if !out {
		return 0, 0, false
	}
	if lo == hi {
		return lo - 1, hi + 1, true
	}
	// Round numbers at the ends, as ECharts would choose: a step of 1, 2, 2.5 or 5 times a
	// power of ten, about a fifth of the range.
	want := (hi - lo) / 5
	p := math.Pow(10, math.Floor(math.Log10(want)))
	step := 10 * p
	for _, f := range []float64{1, 2, 2.5, 5} {
		if f*p >= want {
			step = f * p
			break
		}
	}
	nlo, nhi := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for _, m := range marks { // a line on the plot's edge would hide in its border
		if math.Abs(m.at-nhi*step) < 1e-9*step {
			nhi++
		}
		if math.Abs(m.at-nlo*step) < 1e-9*step && nlo != 0 {
			nlo--
		}
	}
	if step < 1 { // 12 × 0.05 is 0.6000000000000001; 12 / 20 is 0.6, and labels show it
		inv := math.Round(1 / step)
		return nlo / inv, nhi / inv, true
	}
	return nlo * step, nhi * step, true
}

// chartWidth is the width of a chart on the page in CSS pixels (the page's 1100-pixel column
// less its padding and the figure's border), for laying out labels.
const chartWidth = 1056

// xLabelRotate is how far a category x axis turns its labels so that every one is shown:
// 0 when they fit side by side in plot pixels, else 90 (read bottom to top).
func (c *Chart) xLabelRotate(plot int) float64 {
	if len(c.xCats) == 0 || len(c.xCats)*(labelWidth(c.xCats)+8) <= plot {
		return 0
	}
	return 90
}

// xNameGap is the distance of the x axis name from the axis: below the labels, turned or not.
func (c *Chart) xNameGap() int {
	if c.xRotate != 0 {
		return min(labelWidth(c.xCats), 160) + 18
	}
	return 32
}

// categoryLabels labels every category of an axis (ECharts hides labels it finds crowded,
// such as every other position of a prompt or the tallest bar's name) unless there are too
// many for their text to be read (px pixels for n categories, at least 11 pixels each).
func categoryLabels(n, px int, rotate float64) *opts.AxisLabel {
	if n == 0 || px/n < 11 {
		return nil
	}
	return &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", Rotate: rotate}
}

// niceCeil rounds v > 0 up to a round number: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
// power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if f*p >= v {
			return f * p
		}
	}
	return 10 * p
}

// labelWidth is a rough pixel width of the longest label, for axis name gaps.
func labelWidth(labels []string) int {
	n := 0
	for _, l := range labels {
		n = max(n, utf8.RuneCountInString(l))
	}
	return 7 * n
}
