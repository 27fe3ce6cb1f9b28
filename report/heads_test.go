package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

func sampleHeadScores() *probes.HeadScores {
	s := &probes.HeadScores{Layers: 2, Heads: 3, HeadMaps: probes.HeadMaps{
		PreviousToken:  [][]float64{{0.9, 0.1, 0.2}, {0.1, 0.1, 0.1}},
		DuplicateToken: [][]float64{{0.1, 0.5, 0.1}, {0.1, 0.2, 0.1}},
		Induction:      [][]float64{{0.1, 0.1, 0.1}, {0.5, 0.1, 0.1}},
		PrefixMatching: [][]float64{{0.0, 0.1, 0.0}, {0.85, 0.05, 0.1}},
		Copying:        [][]float64{{0.1, 0.2, 0.7}, {0.8, 0.1, 0.05}}},
		InductionLoss: &probes.InductionLoss{Loss: 0.5, FirstCopy: 4.8, PerPosition: []float64{4.9, 4.8, 4.8, 4.8, 4.7, 0.6, 0.5, 0.4}, Len: 4, Repeats: 2, Batch: 8, BOS: true},
	}
	s.Options.Repeat.Batch, s.Options.Repeat.Len, s.Options.Repeat.Repeats, s.Options.Repeat.MaxToken = 8, 4, 2, 20
	s.Options.Thresholds = probes.Thresholds{}.WithDefaults()
	s.Roles = probes.Roles(s, s.Options.Thresholds)
	return s
}

func TestHeadsReport(t *testing.T) {
	s := sampleHeadScores()
	r, err := Heads(s, "runs/demo/<step>")
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"L1H0: induction (0.850)", "L0H0: previous token (0.900)", "L0H1: duplicate token (0.500)", "L0H2: copying (0.700)",
		"<td style=\"padding:2px 8px;border:1px solid #ddd\">induction</td>", "runs/demo/&lt;step&gt;"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, err := Heads(nil, "x"); err == nil {
		t.Error("nil scores: no error")
	}
	bad := sampleHeadScores()
	bad.Copying = [][]float64{{1, 2}}
	if _, err := Heads(bad, "x"); err == nil {
		t.Error("ragged scores: no error")
	}
}

func TestHeadsReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	path := filepath.Join(t.TempDir(), "heads.html")
	r, err := Heads(sampleHeadScores(), "model")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, path)
	p.Check()
	if c := p.Charts(); c.Count != 6 || c.Drawn != 6 {
		t.Errorf("charts %+v, want 6 drawn of 6", c)
	}
	var role string
	p.Eval(`mechinterp.data("heads").roles[1][0]`, &role)
	if role != "induction" {
		t.Errorf("embedded role %q", role)
	}
	screenshot(p, "heads-report")
}
