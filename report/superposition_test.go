package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// spQuickConfig is a --quick-sized config of each experiment: the shape of its ready config
// (at most 40 features), few densities, 300 steps at batch 256.
func spQuickConfig(name string) (superposition.ExperimentConfig, bool) {
	c := superposition.ExperimentConfig{Model: superposition.ReLUOutput, Steps: 300, Batch: 256, LR: 1e-3,
		Densities: []float64{1, 0.1, 0.01}, Seeds: 1, Snapshots: 6, Threads: 2}
	switch name {
	case "linear":
		c.Model, c.Features, c.Hidden, c.ImportanceRatio = superposition.Linear, 20, 5, 0.7
	case "relu":
		c.Features, c.Hidden, c.ImportanceRatio = 20, 5, 0.7
	case "pentagon":
		c.Features, c.Hidden, c.ImportanceRatio, c.Seeds = 5, 2, 0.9, 3
		c.Densities = []float64{1, 0.3, 0.1}
	case "dimensionality":
		c.Features, c.Hidden, c.ImportanceRatio, c.Snapshots = 40, 4, 1, 0
	case "phase":
		c.Seeds, c.Snapshots, c.PhaseImportances = 2, 0, []float64{0.1, 1, 10}
	case "neurons":
		c.Model, c.Features, c.Hidden, c.ImportanceRatio, c.Seeds = superposition.ReLUHidden, 10, 5, 0.75, 2
	case "correlated":
		c.Features, c.Hidden, c.ImportanceRatio, c.Seeds = 4, 2, 1, 2
		c.Densities = []float64{0.05}
		c.Correlated, c.Anticorrelated = [][]int{{0, 1}, {2, 3}}, [][]int{{0, 1}, {2, 3}}
	case "absolute":
		c.Model, c.Features, c.Hidden, c.ImportanceRatio = superposition.AbsValue, 20, 10, 0.8
	case "sae":
		c.Features, c.Hidden, c.ImportanceRatio, c.Seeds, c.Snapshots = 8, 4, 1, 2, 0
		c.Densities = []float64{0.05}
		c.SAEL1, c.SAEDictSizes = []float64{0.003, 0.03}, []int{8, 16}
		c.SAESteps, c.SAEBatch, c.SAELR, c.SAERows = 200, 256, 1e-3, 2000
	default:
		return c, false
	}
	return c, true
}

var spResults struct {
	once sync.Once
	res  map[string]*superposition.ExperimentResult
	err  error
}

// spResult returns the quick result of an experiment, trained once for all the tests.
func spResult(t *testing.T, name string) *superposition.ExperimentResult {
	t.Helper()
	spResults.once.Do(func() {
		spResults.res = map[string]*superposition.ExperimentResult{}
		for _, n := range superposition.ExperimentNames() {
			cfg, ok := spQuickConfig(n)
			if !ok {
				spResults.err = fmt.Errorf("no quick config for experiment %q: add one to spQuickConfig", n)
				return
			}
			res, err := superposition.RunExperiment(context.Background(), n, cfg, nil)
			if err != nil {
				spResults.err = err
				return
			}
			spResults.res[n] = res
		}
	})
	if spResults.err != nil {
		t.Fatal(spResults.err)
	}
	return spResults.res[name]
}

// spWant lists chart titles (prefixes) each report must contain.
var spWant = map[string][]string{
	"linear":         {"W^T W, 1-S=", "Bias b, 1-S=", "Feature norms ||W_i||, 1-S=", "D* and represented features against sparsity", "Training loss", "D* over training"},
	"relu":           {"W^T W, 1-S=", "Bias b, 1-S=", "Feature norms ||W_i||, 1-S=", "D* and represented features against sparsity", "Training loss", "D* over training"},
	"pentagon":       {"D* against 1/(1-S)", "Feature dimensionality D_i against 1/(1-S)", "Feature directions, 1-S = 0.1", "Held-out loss of every seed", "Feature dimensionality D_i over training", "Adversarial vulnerability against D*"},
	"dimensionality": {"D* against 1/(1-S)", "Feature dimensionality D_i against 1/(1-S)", "Features represented against 1/(1-S)", "W^T W, 1-S = 0.01", "Training loss"},
	"phase":          {"Phase of the extra feature, 2 features in 1 dimension", "Phase the theory predicts, 2 features in 1 dimension", "Phase of the extra feature, 3 features in 2 dimensions", "Phase the theory predicts, 3 features in 2 dimensions", "Norm ||W_extra||", "Interference of the extra feature"},
	"neurons":        {"Neuron x feature weights W, 1-S=", "Neuron monosemanticity (W), 1-S=", "Neuron monosemanticity against sparsity", "W^T W, 1-S="},
	"correlated":     {"Mean cosine within each feature set", "Feature directions, correlated sets", "Feature directions, anticorrelated sets", "Feature dimensionality D_i over training"},
	"absolute":       {"Neuron x feature weights W1 (input to neurons)", "Neuron x feature weights W2 (neurons to outputs)", "Neuron monosemanticity (W2)"},
	"sae":            {"MMCS against the L1 coefficient", "L0 against the L1 coefficient", "Variance explained against the L1 coefficient", "Dead features against the L1 coefficient", "MMCS against dictionary size", "Sparsity against reconstruction", "Feature-density histogram, F = 8", "Feature-density histogram, F = 16", "Best cosine per true feature", "SAE training loss", "W^T W of the toy model"},
}

var spOptionBlock = regexp.MustCompile(`(?s)<script type="application/json" id="mi-chart-\d+-option">(.*?)</script>`)

func TestSuperpositionReportHTML(t *testing.T) {
	for _, name := range superposition.ExperimentNames() {
		t.Run(name, func(t *testing.T) {
			res := spResult(t, name)
			r, err := Superposition(res)
			if err != nil {
				t.Fatal(err)
			}
			page := mustHTML(t, r)
			if r.Charts() < 3 {
				t.Errorf("%d charts", r.Charts())
			}
			if n := strings.Count(page, `class="mi-chart"`); n != r.Charts() {
				t.Errorf("%d chart containers, report added %d", n, r.Charts())
			}
			if n := len(regexp.MustCompile(`<figcaption>[^<]{20,}</figcaption>`).FindAllString(page, -1)); n != r.Charts() {
				t.Errorf("%d non-empty captions for %d charts", n, r.Charts())
			}
			if !strings.Contains(page, "<title>Superposition: "+name+"</title>") {
				t.Error("page title missing")
			}
			// Every chart has a title and both axis names, and no curve is longer than
			// maxCurvePoints.
			var titles []string
			for _, m := range spOptionBlock.FindAllStringSubmatch(page, -1) {
				var opt struct {
					Title  struct{ Text string }
					XAxis  []struct{ Name string }
					YAxis  []struct{ Name string }
					Series []struct {
						Type string
						Data []json.RawMessage
					}
				}
				if err := json.Unmarshal([]byte(m[1]), &opt); err != nil {
					t.Fatalf("chart option: %v", err)
				}
				if opt.Title.Text == "" || len(opt.XAxis) == 0 || opt.XAxis[0].Name == "" || len(opt.YAxis) == 0 || opt.YAxis[0].Name == "" {
					t.Errorf("chart without a title or axis names: %.200s", m[1])
					continue
				}
				titles = append(titles, opt.Title.Text)
				for _, s := range opt.Series {
					if s.Type == "line" && len(s.Data) > maxCurvePoints+1 {
						t.Errorf("chart %q: line of %d points", opt.Title.Text, len(s.Data))
					}
				}
			}
			if len(titles) != r.Charts() {
				t.Errorf("%d chart options for %d charts", len(titles), r.Charts())
			}
			for _, want := range spWant[name] {
				found := false
				for _, ti := range titles {
					found = found || strings.HasPrefix(ti, want)
				}
				if !found {
					t.Errorf("no chart titled %q; have %q", want, titles)
				}
			}
			// The whole result is embedded.
			m := regexp.MustCompile(`(?s)<script type="application/json" class="mi-data" id="mi-data-results">(.*?)</script>`).FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no results data block")
			}
			var back superposition.ExperimentResult
			if err := json.Unmarshal([]byte(m[1]), &back); err != nil {
				t.Fatal(err)
			}
			if back.Experiment != name || back.Config.Steps != res.Config.Steps {
				t.Errorf("embedded results: experiment %q steps %d", back.Experiment, back.Config.Steps)
			}
			if len(page) > 4<<20 {
				t.Errorf("page of %d bytes for a quick run", len(page))
			}
		})
	}
}

func TestSuperpositionReportDetails(t *testing.T) {
	// The pentagon's 2-D scatters have equal axes (a square plot centred on 0) and spokes.
	page := mustHTML(t, mustSP(t, spResult(t, "pentagon")))
	for _, want := range []string{`"min":-`, `"coord":[0,0]`, `"name":"2/5 pentagon"`, `"name":"3/8 square antiprism"`, `"name":"3/4 tetrahedron"`, `"name":"2/3 triangle"`, `"name":"1/2 antipodal pair"`, `"type":"log"`} {
		if !strings.Contains(page, want) {
			t.Errorf("pentagon page lacks %s", want)
		}
	}
	// Phase diagrams: a categorical legend naming the phases (TestChartRules checks each chart).
	page = mustHTML(t, mustSP(t, spResult(t, "phase")))
	if !strings.Contains(page, `"type":"piecewise"`) || !strings.Contains(page, `"label":"dedicated dimension"`) {
		t.Error("phase heatmap lacks a legend naming the phases")
	}
	// The agreement with the theory, as superposition.CompareTheory counts it.
	for _, ph := range spResult(t, "phase").Phases {
		want := fmt.Sprintf("Agreement with the paper&#39;s theoretical phase boundaries: %d of %d cells", ph.Matches, len(ph.Densities)*len(ph.Importances))
		if !strings.Contains(page, want) {
			t.Errorf("phase page lacks %q", want)
		}
	}
	// Represented is ||W||_F^2 = m / D* on every line (so a dense D* = 1 reads m
	// represented, not 0), and the page defines it.
	page = mustHTML(t, mustSP(t, spResult(t, "dimensionality")))
	lines := regexp.MustCompile(`1-S = [0-9.]+: ([0-9.]+) of 40 features represented, [0-9]+ individually, D\* = ([0-9.]+)`).FindAllStringSubmatch(page, -1)
	if len(lines) != 3 || !strings.Contains(page, "Represented counts ||W||_F^2") {
		t.Errorf("dimensionality page: %d summary lines, or no definition of represented", len(lines))
	}
	for _, l := range lines {
		var rep, ds float64
		fmt.Sscan(l[1], &rep)
		fmt.Sscan(l[2], &ds)
		if math.Abs(rep-4/ds) > 0.06 {
			t.Errorf("%q: represented %v, want m/D* = %.2f", l[0], rep, 4/ds)
		}
	}
	// The SAE page says over which window dead features count.
	page = mustHTML(t, mustSP(t, spResult(t, "sae")))
	if !strings.Contains(page, "fired on none of the last") {
		t.Error("SAE page does not define its dead window")
	}
}

func mustSP(t *testing.T, res *superposition.ExperimentResult) *viz.Report {
	t.Helper()
	r, err := Superposition(res)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSuperpositionReportErrors(t *testing.T) {
	if _, err := Superposition(nil); err == nil {
		t.Error("nil result accepted")
	}
	if _, err := Superposition(&superposition.ExperimentResult{Experiment: "linear"}); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("empty result: %v", err)
	}
	if _, err := Superposition(&superposition.ExperimentResult{Experiment: "sae", SAE: &superposition.SAEExperiment{}}); err == nil {
		t.Error("SAE result without runs accepted")
	}
}

func TestSuperpositionCurveDownsampling(t *testing.T) {
	steps := make([]int, 1001)
	ys := make([]float64, 1001)
	for i := range steps {
		steps[i], ys[i] = i*10, float64(i)
	}
	x, y := curve(steps, ys)
	if len(x) > maxCurvePoints+1 || len(x) < maxCurvePoints/2 || len(x) != len(y) {
		t.Errorf("%d points", len(x))
	}
	if x[0] != 0 || x[len(x)-1] != 10000 || y[len(y)-1] != 1000 {
		t.Errorf("ends %v %v", x[0], x[len(x)-1])
	}
	if x, _ := curve(steps[:10], ys[:10]); len(x) != 10 {
		t.Errorf("short curve downsampled to %d", len(x))
	}
	for v, want := range map[float64]string{1: "1", 0.75: "3/4", 2.0 / 3: "2/3", 0.5: "1/2", 0.4: "2/5", 0.375: "3/8"} {
		if got := fraction(v); got != want {
			t.Errorf("fraction(%v) = %s, want %s", v, got, want)
		}
	}
}

// TestSuperpositionReportsInBrowser opens the report of every experiment in headless
// Chromium: no console error, no request leaving the page, every chart drawn, the results
// readable from the page; a screenshot each when MECHINTERP_ARTIFACTS keeps them. Each page
// loads in the warm shared tab that the one before it frees.
func TestSuperpositionReportsInBrowser(t *testing.T) {
	browsertest.Require(t)
	dir := t.TempDir()
	for _, name := range superposition.ExperimentNames() {
		t.Run(name, func(t *testing.T) {
			r := mustSP(t, spResult(t, name))
			path, count := filepath.Join(dir, name+".html"), r.Charts()
			if err := r.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			p := openPage(t, path)
			p.WaitFor(fmt.Sprintf(`location.pathname.endsWith(%q) && document.readyState === "complete" && window.mechinterp && Object.keys(mechinterp.charts || {}).length === %d`, "/"+name+".html", count))
			for _, pr := range p.Problems() {
				t.Errorf("%s report: %s", name, pr)
			}
			if c := p.Charts(); c.Count != count || c.Drawn != count {
				t.Errorf("%s report: charts = %+v, want %d drawn of %d", name, c, count, count)
			}
			var got string
			p.Eval(`mechinterp.data("results").experiment`, &got)
			if got != name {
				t.Errorf(`%s report: mechinterp.data("results").experiment = %q`, name, got)
			}
			screenshot(p, "superposition-"+name)
		})
	}
}

// A paper-scale result is too large to embed: the page carries a pointer to
// results.json instead, and stays small.
func TestSuperpositionLargeResultsNotEmbedded(t *testing.T) {
	res := *spResult(t, "linear")
	res.Description = strings.Repeat("x", maxEmbeddedResults+1)
	page := mustHTML(t, mustSP(t, &res))
	if !strings.Contains(page, "results.json beside this page") {
		t.Error("the page does not say where the full results are")
	}
	i := strings.Index(page, `id="mi-data-results"`)
	if i < 0 {
		t.Fatal("no results data block")
	}
	if block := page[i : i+strings.Index(page[i:], "</script>")]; len(block) > 1024 {
		t.Errorf("the oversized results were embedded (%d bytes)", len(block))
	}
}
