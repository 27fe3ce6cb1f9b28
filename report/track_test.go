package report

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// sampleTrack is a run whose head L1H0 forms at step 1000, at a loss bump.
func sampleTrack() *probes.TrackResult {
	res := &probes.TrackResult{Run: "runs/demo", Layers: 2, Heads: 2, Threshold: 0.4}
	for _, s := range []int{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 750, 1000, 1250, 1500} {
		pm := 0.9 / (1 + math.Exp(-float64(s-950)/60))
		rec := probes.TrackRecord{Step: s, HeadMaps: probes.HeadMaps{
			PrefixMatching: [][]float64{{0.02, 0.03}, {pm, 0.05}},
			PreviousToken:  [][]float64{{0.2 + 0.6*pm, 0.1}, {0.1, 0.1}},
			DuplicateToken: [][]float64{{0.1, 0.1}, {0.1, 0.2}},
			Induction:      [][]float64{{0.1, 0.1}, {0.5 * pm, 0.1}},
			Copying:        [][]float64{{0.1, 0.1}, {0.2 + 0.5*pm, 0.1}}},
			InductionLoss: 4.8 - 4*pm, ICL: probes.ICL{Score: -2 * pm, Early: 6, Late: 62}}
		res.Records = append(res.Records, rec)
	}
	for s := 1; s <= 1500; s++ {
		l := 3.6 + 0.8/(1+math.Exp(float64(s-1000)/40)) + 1.2*math.Exp(-float64(s)/80)
		res.Loss.Steps, res.Loss.Loss = append(res.Loss.Steps, s), append(res.Loss.Loss, l)
	}
	res.Bump = probes.FindBump(res.Loss.Steps, res.Loss.Loss, 0)
	res.Loss.Smooth = probes.Smooth(res.Loss.Loss, res.Bump.Window)
	res.Formation = probes.Formations(res.Records, res.Threshold)
	return res
}

func TestTrackReport(t *testing.T) {
	res := sampleTrack()
	r, err := Track(res)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := r.HTML()
	if !strings.Contains(string(page), "L1H0: induction head from step 1000") || !strings.Contains(string(page), "L0H0: no induction head") {
		t.Error("formation steps missing from the page")
	}
	if !res.Bump.Found || !strings.Contains(string(page), "The loss bump") {
		t.Errorf("bump %+v not described", res.Bump)
	}
	if _, err := Track(&probes.TrackResult{}); err == nil {
		t.Error("empty result: no error")
	}
}

func TestTrackReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	path := filepath.Join(t.TempDir(), "track.html")
	r, err := Track(sampleTrack())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, path)
	p.Check()
	if c := p.Charts(); c.Count != 7 || c.Drawn != 7 {
		t.Errorf("charts %+v, want 7 drawn of 7", c)
	}
	var n int
	p.Eval(`mechinterp.data("track").records.length`, &n)
	if n != 15 {
		t.Errorf("embedded %d records", n)
	}
	screenshot(p, "track-report")
}
