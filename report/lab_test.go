package report

import (
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
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
	res, err := probes.OOD(m, draw(200, 1, 10), draw(200, 1, 20), draw(60, 1, 10), draw(60, 8, 20), probes.OODConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLabReports(t *testing.T) {
	bon, err := BestOfN(sampleBestOfN(t))
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "bestofn", chartOptions(t, bon))
	ood, err := OOD(sampleOOD(t), "m", "test sets")
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "ood", chartOptions(t, ood))
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
	for name, r := range map[string]interface {
		WriteFile(string) error
		Charts() int
	}{"bestofn": bon, "ood": ood} {
		path := filepath.Join(t.TempDir(), name+".html")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		p := browsertest.Open(t, path)
		p.Check()
		if c := p.Charts(); c.Count != r.Charts() || c.Drawn != c.Count {
			t.Errorf("%s: charts %+v, want %d drawn", name, c, r.Charts())
		}
		p.Screenshot(name + "-report")
	}
}
