package report_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/study/repeated"
)

// ExampleRepeated writes the page of a two-run study: an f = 0 baseline and one run
// with half its tokens repeated 16 times. Analyses normally come from repeated.Analyze.
func ExampleRepeated() {
	dir, _ := os.MkdirTemp("", "viz-repeated")
	defer os.RemoveAll(dir)

	row := func(run string, f float64, e, step int, test, copyLoss, pm float64) repeated.Row {
		return repeated.Row{Run: run, Fraction: f, Epochs: e, Arch: "attn2", Size: "m", NLayers: 2, NHeads: 2, Params: 32768, Seed: 1,
			Step: step, TestLoss: test, CopyLoss: copyLoss, PrefixMax: pm, PrefixMatching: [][]float64{{0.1, 0.1}, {pm, 0.1}}}
	}
	damage := func(v float64) *float64 { return &v }
	a := &repeated.Analysis{Study: "example", Planned: 2, ContextFreeLoss: 5.2, Threshold: 0.4, DelayFactor: 2, MemorizedLoss: 0.1, DescentRise: 0.05}
	a.Rows = []repeated.Row{
		row("base", 0, 0, 100, 3.5, 2.0, 0.3), row("base", 0, 0, 1000, 2.7, 0.9, 0.9),
		row("rep", 0.5, 16, 100, 3.6, 2.4, 0.1), row("rep", 0.5, 16, 1000, 2.9, 1.4, 0.6),
	}
	a.Runs = []repeated.Summary{
		{Run: "base", Final: a.Rows[1], Complete: true, Fate: repeated.FateFormed, Formation: 300, BaselineFormation: 300, MemorizedStep: -1},
		{Run: "rep", Final: a.Rows[3], Complete: true, Baseline: "base", Fate: repeated.FateDelayed, Formation: 700, BaselineFormation: 300, MemorizedStep: 1000,
			TestDamageRel: damage(0.08), CopyDamageRel: damage(0.12), PrefixDamageRel: damage(0.33)},
	}
	r, err := report.Repeated(a)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.WriteFile(filepath.Join(dir, "repeated.html")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Title())
	// Output: Repeated data: example
}
