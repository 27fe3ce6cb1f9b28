package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// samplePrefs is a short real run on the synthetic task.
func samplePrefs(t *testing.T) *lab.PrefsResult {
	t.Helper()
	cfg := lab.PrefsConfig{TrainComparisons: 500, EvalComparisons: 200,
		Train: lab.TrainConfig{Steps: 40, Batch: 16, LR: 3e-3, EvalEvery: 10}}
	cfg.Model.NLayers, cfg.Model.DModel, cfg.Model.NHeads = 1, 16, 2
	res, _, err := lab.TrainPrefs(cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPrefsReport(t *testing.T) {
	res := samplePrefs(t)
	r, err := Prefs(res)
	if err != nil {
		t.Fatal(err)
	}
	popts := chartOptions(t, r)
	checkChartRules(t, "prefs", popts)
	// Reliability diagrams of different models compare: a frequency's whole range, not a fit.
	naturalRange(t, "prefs", popts, "Reliability diagram", 0, 1)
	html := mustHTML(t, r)
	for _, want := range []string{"Reliability diagram", "rewards/chosen", "Spearman with the true reward", "perfect calibration"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, err := Prefs(&lab.PrefsResult{}); err == nil {
		t.Error("empty result: no error")
	}
}

func TestPrefsReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	r, err := Prefs(samplePrefs(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prefs.html")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, path)
	p.Check()
	if c := p.Charts(); c.Count != 4 || c.Drawn != 4 {
		t.Errorf("charts %+v, want 4 drawn of 4", c)
	}
	var n int
	p.Eval(`mechinterp.data("results").history.reliability.bins.reduce((s, b) => s + b.count, 0)`, &n)
	if n != 200 {
		t.Errorf("reliability counts add to %d in the page, want 200", n)
	}
	screenshot(p, "prefs-report")
}
