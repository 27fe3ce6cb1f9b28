package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

func TestDiscoveryAndLensPages(t *testing.T) {
	m := testmodel.Induction(t, 0.1)
	pairs, err := circuits.InductionTask{Pairs: 8, Len: 7, Seed: 1}.Generate(m.Config.DVocab, m.Config.NCtx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := circuits.Discover(m, pairs, circuits.DiscoverOptions{Effects: true, CurvePoints: 5})
	if err != nil {
		t.Fatal(err)
	}
	page, err := Discovery(d, "hand-set induction")
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "eap", chartOptions(t, page))
	html := mustHTML(t, page)
	// The circuit's edges are drawn, told apart by input, with their numbers on hover.
	for _, want := range []string{`class="mi-circuit"`, "L0H0 -&gt; L1H0.k", "true effect", edgeColors["k"], edgeColors["v"]} {
		if !strings.Contains(html, want) {
			t.Errorf("the eap page lacks %q", want)
		}
	}
	if n := strings.Count(html, "<path "); n != d.CircuitEdges {
		t.Errorf("%d edges drawn for a circuit of %d", n, d.CircuitEdges)
	}

	lm := testmodel.Random(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Seed: 1}, 0.5)
	lens, err := circuits.ApplyLens(lm, []int{1, 2, 3, 1, 2}, circuits.LensOptions{Answer: 3})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := LensPage(lens, func(id int) string { return string(rune('a' + id)) })
	if err != nil {
		t.Fatal(err)
	}
	checkChartRules(t, "lens", chartOptions(t, lp))
	if h := mustHTML(t, lp); strings.Count(h, `<td style`) != len(lens.Layers)*len(lens.Tokens) {
		t.Errorf("the top-token table does not have one cell per layer and position")
	}
	// Both pages draw in the browser without errors; the embedded data
	// carries every edge.
	dir := t.TempDir()
	for name, r := range map[string]interface{ WriteFile(string) error }{"eap": page, "lens": lp} {
		path := filepath.Join(dir, name+".html")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		b := openPage(t, path, browsertest.WindowSize(1300, 2400))
		b.Check()
		if name == "eap" {
			var edges int
			b.Eval(`mechinterp.data("discovery").edges.length`, &edges)
			if edges != len(d.Edges) {
				t.Errorf("embedded data holds %d edges, want %d", edges, len(d.Edges))
			}
		}
		screenshot(b, name)
		b.Close() // frees the warm tab for the next page
	}
	if _, err := Discovery(nil, "m"); err == nil {
		t.Error("nil discovery: no error")
	}
}
