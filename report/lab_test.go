package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

func sampleBestOfN(t *testing.T) *lab.BestOfNResult {
	t.Helper()
	task := lab.SyntheticConfig{Seed: 1}.WithDefaults()
	cfg := models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: task.SeqLen(), DVocab: task.Vocab, Seed: 2, InitializerRange: 0.5}
	policy := testmodel.New(t, cfg)
	cfg.Seed = 3
	pm := lab.NewPrefModel(testmodel.New(t, cfg), 1)
	res, err := lab.BestOfN(policy, pm, lab.BestOfNConfig{Task: task, Prompts: 2, Samples: 16})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sampleOOD(t *testing.T) *probes.OODResult {
	t.Helper()
	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 20, Seed: 4, InitializerRange: 0.5})
	r := seed.New(5)
	draw := func(n, lo, hi int) [][]int {
		out := make([][]int, n)
		for i := range out {
			out[i] = make([]int, 6)
			for j := range out[i] {
				out[i][j] = lo + r.IntN(hi-lo)
			}
		}
		return out
	}
	res, err := probes.OOD(m, probes.OODSets{Fit: draw(200, 1, 10), Background: draw(200, 1, 20), Outliers: draw(5, 8, 20),
		In: draw(60, 1, 10), Out: draw(60, 8, 20)}, probes.OODConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sampleStudy(t *testing.T) (lab.StudyConfig, []lab.StudyRow) {
	t.Helper()
	cfg := lab.StudyConfig{Sizes: []int{8, 16}, Comparisons: 200, Steps: 5,
		Finetune: []int{50, 100}, FinetuneSteps: 5, FinetuneSize: 8, PretrainComparisons: 100, PretrainSteps: 5, EvalComparisons: 50}
	rows, err := lab.RunStudy(cfg, t.TempDir(), 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.WithDefaults(), rows
}

func TestLabReports(t *testing.T) {
	cfg, rows := sampleStudy(t)
	st, err := PrefsStudy(cfg, rows)
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "prefs study", chartOptions(t, st))
	if !strings.Contains(mustHTML(t, st), "ranked preference") {
		t.Error("the study page does not say whether ranked preference wins")
	}
	bon, err := BestOfN(sampleBestOfN(t))
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "bestofn", chartOptions(t, bon))
	if page := mustHTML(t, bon); !strings.Contains(page, "What it found") || !strings.Contains(page, "a perfect preference model would gain") {
		t.Error("the best-of-n page does not say what it found")
	}
	for _, tc := range []struct {
		true []float64
		want string
	}{
		{[]float64{0, 1, 2}, "still rises"},
		{[]float64{0, 2, 1}, "peaks at n = 2 (+2.000)"},
	} {
		var pts []lab.BestOfNPoint
		for i, v := range tc.true {
			pts = append(pts, lab.BestOfNPoint{N: 1 << i, Proxy: float64(2 * i), True: v, OracleTrue: float64(3 * i)})
		}
		if got := bestOfNFinding(pts); !strings.Contains(got, tc.want) {
			t.Errorf("true rewards %v: %q, want %q", tc.true, got, tc.want)
		}
	}
	ood, err := OOD(sampleOOD(t), "m", "test sets")
	if err != nil {
		t.Fatal(err)
	}
	oopts := chartOptions(t, ood)
	checkChartRules(t, "ood", oopts)
	naturalRange(t, "ood", oopts, "AUROC", 0, 1)
	naturalRange(t, "ood", oopts, "False-positive rate", 0, 1)
	if page := mustHTML(t, ood); !strings.Contains(page, "What it found") || !strings.Contains(page, "separates best, at ") {
		t.Error("the OOD page does not say what it found")
	}
	if _, err := OOD(&probes.OODResult{}, "m", ""); err == nil {
		t.Error("empty OOD result: no error")
	}
	if _, err := BestOfN(&lab.BestOfNResult{}); err == nil {
		t.Error("empty best-of-n result: no error")
	}
}

func TestLabReportsInBrowser(t *testing.T) {
	browsertest.Require(t)
	bon, err := BestOfN(sampleBestOfN(t))
	if err != nil {
		t.Fatal(err)
	}
	ood, err := OOD(sampleOOD(t), "m", "test sets")
	if err != nil {
		t.Fatal(err)
	}
	cfg, rows := sampleStudy(t)
	st, err := PrefsStudy(cfg, rows)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]interface {
		WriteFile(string) error
		Charts() int
	}{"bestofn": bon, "ood": ood, "prefs-study": st} {
		path := filepath.Join(t.TempDir(), name+".html")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		p := openPage(t, path)
		p.Check()
		if c := p.Charts(); c.Count != r.Charts() || c.Drawn != c.Count {
			t.Errorf("%s: charts %+v, want %d drawn", name, c, r.Charts())
		}
		screenshot(p, name+"-report")
		p.Close() // frees the warm tab for the next page
	}
}

func sampleAttribution(t *testing.T) *viz.Report {
	t.Helper()
	task := lab.SyntheticConfig{Seed: 1}.WithDefaults()
	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: task.SeqLen(), DVocab: task.Vocab, Seed: 2, InitializerRange: 0.5})
	a, err := lab.Attribute(lab.NewPrefModel(m, 1), task.Comparisons(lab.SetEval, 20))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Attribution(a, "m")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAttributionReport(t *testing.T) {
	checkChartRules(t, "attribution", chartOptions(t, sampleAttribution(t)))
}

func TestAttributionReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	r := sampleAttribution(t)
	path := filepath.Join(t.TempDir(), "attribution.html")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, path)
	p.Check()
	if c := p.Charts(); c.Count != 3 || c.Drawn != 3 {
		t.Errorf("charts %+v, want 3 drawn", c)
	}
	screenshot(p, "attribution-report")
}
