package report

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// repeatedCharts is the number of charts sampleRepeated's page has: per damaged group (2) three
// final-number charts and one relative-damage chart per f (2); two family charts and two
// effective-size charts; a prefix-matching chart per damaged group and f (4) and per
// baseline-only group (4); a test-loss chart per damaged group at the largest f (2).
const repeatedCharts = 2*(3+2) + 2 + 2 + 4 + 4 + 2

// sampleRepeated is a hand-made study: architectures attn2 and mlp2, sizes s, m, l at f = 0,
// f in {0.5, 0.9} and E in {1, 4, 16, 64} at size m, seeds 1 and 2, six checkpoints per run.
// The damage peaks at E = 16 and is larger on copying than on test loss. The f = 0 run
// attn2-m-f0-s2 is missing, so the attn2 m seed 2 runs have no baseline (nil damages);
// mlp2-m-f0.9-e16-s1 shows double descent; mlp2-m-f0.9-e64-s2 is incomplete.
func sampleRepeated() *repeated.Analysis {
	a := &repeated.Analysis{Study: "repeat-small", ContextFreeLoss: 5.2, Threshold: 0.4, DelayFactor: 2, MemorizedLoss: 0.1, DescentRise: 0.05}
	steps := []int{0, 10, 30, 100, 300, 1000}
	sizes := []struct {
		name string
		d    int
	}{{"s", 32}, {"m", 64}, {"l", 128}}
	type key struct {
		arch, size string
		seed       uint64
	}
	baseTest, baseCopy, basePM, baseForm := map[key]float64{}, map[key]float64{}, map[key]float64{}, map[key]int{}
	for _, arch := range []string{"attn2", "mlp2"} {
		fams := map[uint64]*repeated.Family{}
		for si, sz := range sizes {
			fracs := []float64{0}
			if sz.name == "m" {
				fracs = []float64{0, 0.5, 0.9}
			}
			for _, f := range fracs {
				epochs := []int{0}
				if f > 0 {
					epochs = []int{1, 4, 16, 64}
				}
				for _, e := range epochs {
					for _, seed := range []uint64{1, 2} {
						id := fmt.Sprintf("%s-%s-f%g-e%d-s%d", arch, sz.name, f, e, seed)
						a.Planned++
						if id == "attn2-m-f0-e0-s2" {
							a.Missing = append(a.Missing, id)
							continue
						}
						k := key{arch, sz.name, seed}
						// Damage peaks at E = 16 and grows with f; copying suffers three times more.
						dmg := 0.0
						if f > 0 {
							le := math.Log(float64(e)) / math.Log(4)
							dmg = f * 0.3 * math.Exp(-(le-2)*(le-2))
						}
						finalTest := 3.0 - 0.3*float64(si) + 0.01*float64(seed) + dmg
						finalCopy := 1.0 - 0.1*float64(si) + 3*dmg
						finalPM := 0.9 - 2*dmg
						form := 100
						if f > 0 {
							form = int(100 * (1 + 10*dmg))
						}
						params := 4 * 2 * sz.d * sz.d
						if arch == "mlp2" {
							params = 12 * 2 * sz.d * sz.d
						}
						last := len(steps)
						complete := true
						if id == "mlp2-m-f0.9-e64-s2" {
							last, complete = 5, false
						}
						descent := id == "mlp2-m-f0.9-e16-s1"
						var rows []repeated.Row
						for _, step := range steps[:last] {
							decay := math.Exp(-float64(step) / 100)
							test := finalTest + (5-finalTest)*decay
							if descent && step == 300 {
								test += 0.3
							}
							pm := 0.0
							if step > 0 {
								pm = finalPM / (1 + math.Pow(float64(form)/float64(step), 4))
							}
							row := repeated.Row{Run: id, Fraction: f, Epochs: e, Size: sz.name, Arch: arch, NLayers: 2, AttnOnly: arch == "attn2",
								DModel: sz.d, NHeads: 2, Params: params, Seed: seed, RepeatedShare: f, SubsetSequences: 8,
								Step: step, Tokens: int64(step) * 4096, TestLoss: test, CopyLoss: finalCopy + (5-finalCopy)*decay,
								CopyLossByCopy: []float64{finalCopy + 0.1, finalCopy - 0.1}, InductionLoss: 4 - 3*pm, ICLScore: -pm,
								PrefixMatching: [][]float64{{0.05, 0.02}, {pm, 0.1}}, Copying: [][]float64{{0.1, 0.1}, {0.5 * pm, 0.1}},
								PrefixMax: math.Max(pm, 0.1), PrefixMaxHead: "L1H0"}
							if step > 0 {
								row.TrainLoss = val(test - 0.1)
							}
							if f > 0 {
								row.RepeatedLoss = val(test * decay * 4 / float64(e))
							}
							rows = append(rows, row)
						}
						a.Rows = append(a.Rows, rows...)
						sm := repeated.Summary{Run: id, Final: rows[len(rows)-1], Complete: complete, Fate: repeated.FateFormed,
							Formation: form, BaselineFormation: -1, MemorizedStep: -1, DescentStart: -1, PeakTestStep: -1}
						if f == 0 {
							baseTest[k], baseCopy[k], basePM[k], baseForm[k] = sm.Final.TestLoss, sm.Final.CopyLoss, sm.Final.PrefixMax, form
							fam := fams[seed]
							if fam == nil {
								fam = &repeated.Family{Arch: arch, Seed: seed}
								fams[seed] = fam
							}
							fam.Sizes, fam.Params = append(fam.Sizes, sz.name), append(fam.Params, params)
							fam.TestLoss, fam.CopyLoss = append(fam.TestLoss, sm.Final.TestLoss), append(fam.CopyLoss, sm.Final.CopyLoss)
						} else {
							if bt, ok := baseTest[k]; ok {
								sm.Baseline = fmt.Sprintf("%s-%s-f0-e0-s%d", arch, sz.name, seed)
								sm.BaselineFormation = baseForm[k]
								sm.TestDamage, sm.CopyDamage = val(sm.Final.TestLoss-bt), val(sm.Final.CopyLoss-baseCopy[k])
								sm.PrefixDamage = val(basePM[k] - sm.Final.PrefixMax)
								sm.TestDamageRel = val(*sm.TestDamage / (a.ContextFreeLoss - bt))
								sm.CopyDamageRel = val(*sm.CopyDamage / (a.ContextFreeLoss - baseCopy[k]))
								sm.PrefixDamageRel = val(*sm.PrefixDamage / basePM[k])
								if float64(form) > 2*float64(baseForm[k]) {
									sm.Fate = repeated.FateDelayed
								}
							}
							if !(f == 0.5 && e == 1) { // better than the family's largest model: outside its range
								sm.EffectiveShare = val(1 / (1 + 5*dmg))
								sm.EffectiveParams = val(*sm.EffectiveShare * float64(params))
								sm.EffectiveCopyParams = val(float64(params) / (1 + 15*dmg))
							}
							if f == 0.9 && e >= 16 {
								sm.MemorizedStep = 100
							}
							if f == 0.9 && e == 64 && arch == "attn2" {
								sm.Fate = repeated.FateReplaced
							}
						}
						if descent {
							sm.DoubleDescent, sm.DescentStart, sm.PeakTestStep, sm.DescentRise = true, 100, 300, 0.3
						}
						a.Runs = append(a.Runs, sm)
					}
				}
			}
		}
		for _, seed := range []uint64{1, 2} {
			a.Families = append(a.Families, *fams[seed])
		}
	}
	return a
}

func TestRepeatedReport(t *testing.T) {
	a := sampleRepeated()
	r, err := Repeated(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"<title>Repeated data: repeat-small</title>",
		"43 of 44 planned runs have results",
		"<summary>1 planned runs have no results yet</summary>", "<code>attn2-m-f0-e0-s2</code>",
		"reaches 0.4 and stays there", "2 × the f = 0 baseline", "at most 0.1 nats", "more than 0.05 nats", "5.200 nats",
		"1 of them have not reached their last step",
		"<h2>Damage against epochs</h2>", "<h2>Effective model size</h2>", "<h2>Induction heads over training</h2>", "<h2>Double descent</h2>",
		`aria-label="Final test loss: attn2 m"`, `aria-label="Final copy loss: mlp2 m"`, `aria-label="Final prefix matching: mlp2 m"`,
		`aria-label="Relative damage: attn2 m, f = 0.5"`, `aria-label="Relative damage: mlp2 m, f = 0.9"`,
		`aria-label="f = 0 size family: attn2"`, `aria-label="f = 0 size family: mlp2"`, `aria-label="Effective size: mlp2 m"`,
		`aria-label="Prefix matching over training: attn2 m, f = 0.9"`, `aria-label="Prefix matching over training: mlp2 l, f = 0"`,
		`aria-label="Test loss over training: mlp2 m, f = 0.9"`,
		"f = 0.5: the relative copy damage peaks at E = 16", "f = 0.9: the relative copy damage peaks at E = 16",
		// attn2 m seed 2 has no baseline: four runs per f, three damages each.
		"f = 0.5: 4 run(s) lack a baseline or a damage (attn2-m-f0.5-e1-s2, attn2-m-f0.5-e4-s2, attn2-m-f0.5-e16-s2, attn2-m-f0.5-e64-s2); 4 test, 4 copy and 4 prefix-matching values are not drawn.",
		"mlp2 m: 2 run(s) with f &gt; 0 have no effective size (nil)",
		"Fates at f = 0 (11 runs): formed 11.", "replaced 2",
		"mlp2-m-f0.9-e16-s1 (mlp2 m, f = 0.9, E = 16, seed 1): test loss rises by 0.300 nats from step 100 to step 300 (subset memorized at step 100).",
		`<td style="padding:2px 6px;border:1px solid #ddd">no (step 300)</td>`,
		`"test_damage_rel":null`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="mi-chart"`); n != repeatedCharts {
		t.Errorf("%d charts, want %d", n, repeatedCharts)
	}
	if n := strings.Count(page, `<tr><td `); n != len(a.Runs) {
		t.Errorf("runs table has %d rows, want %d", n, len(a.Runs))
	}
	// The step axes are logarithmic: no step-0 point may reach a chart.
	if regexp.MustCompile(`"value":\[0,`).MatchString(page) {
		t.Error("a point at x = 0 reached a log-axis chart")
	}
	// The memorization marks of the largest f: E = 16 and 64 at step 100.
	if !strings.Contains(page, `"name":"E = 16, 64","xAxis":100`) {
		t.Error("no single memorization mark for E = 16 and 64 at step 100")
	}
	for _, want := range []string{">250 (no baseline)<", ">250 (100)<"} {
		if !strings.Contains(page, want) {
			t.Errorf("runs table lacks %q", want)
		}
	}
}

func TestRepeatedReportDegenerate(t *testing.T) {
	// Without any f = 0 run of mlp2 m the page still renders, with no baseline line and no
	// relative damage for that group, and says so.
	a := sampleRepeated()
	var runs []repeated.Summary
	for _, sm := range a.Runs {
		if strings.HasPrefix(sm.Run, "mlp2-m-f0-") {
			continue
		}
		if strings.HasPrefix(sm.Run, "mlp2-m-") {
			sm.Baseline, sm.TestDamageRel, sm.CopyDamageRel, sm.PrefixDamageRel = "", nil, nil, nil
		}
		runs = append(runs, sm)
	}
	a.Runs = runs
	var rows []repeated.Row
	for _, row := range a.Rows {
		if !strings.HasPrefix(row.Run, "mlp2-m-f0-") {
			rows = append(rows, row)
		}
	}
	a.Rows = rows
	r, err := Repeated(a)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := r.HTML()
	for _, want := range []string{"This group has no f = 0 run, so no baseline is drawn.", "f = 0.9: no run has a damage (no f = 0 baseline), so no chart."} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(page), `aria-label="Relative damage: mlp2 m`) {
		t.Error("relative damage drawn without baselines")
	}

	// A study with only f = 0 runs has no damage to show, and says so.
	a = sampleRepeated()
	runs = nil
	for _, sm := range a.Runs {
		if sm.Final.Fraction == 0 {
			runs = append(runs, sm)
		}
	}
	a.Runs, a.Rows = runs, nil
	r, err = Repeated(a)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = r.HTML()
	for _, want := range []string{"The study has no runs with f &gt; 0 yet", "No run&#39;s test loss rises"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestRepeatedReportErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(*repeated.Analysis)
		want  string
	}{
		{"no runs", func(a *repeated.Analysis) { a.Runs, a.Rows = nil, nil }, `study "repeat-small" has no runs with results (44 planned)`},
		{"ragged row", func(a *repeated.Analysis) { a.Rows[7].PrefixMatching[1] = []float64{0.5} },
			"run attn2-s-f0-e0-s2 step 10: prefix-matching scores are not 2 layers × 2 heads"},
		{"missing layer", func(a *repeated.Analysis) { a.Rows[3].PrefixMatching = a.Rows[3].PrefixMatching[:1] },
			"run attn2-s-f0-e0-s1 step 100: prefix-matching scores are not 2 layers × 2 heads"},
		{"ragged final", func(a *repeated.Analysis) { a.Runs[0].Final.PrefixMatching = nil },
			"final row of run attn2-s-f0-e0-s1 step 1000: prefix-matching scores"},
		{"NaN loss", func(a *repeated.Analysis) { a.Rows[2].TestLoss = math.NaN() }, "run attn2-s-f0-e0-s1 step 30: test_loss is NaN"},
		{"Inf damage", func(a *repeated.Analysis) { a.Runs[20].CopyDamageRel = val(math.Inf(1)) }, "copy_damage_rel is +Inf"},
		{"orphan row", func(a *repeated.Analysis) { a.Rows[0].Run = "nobody" }, `row 1 (run "nobody", step 0) belongs to no run`},
		{"duplicate run", func(a *repeated.Analysis) { a.Runs[1].Run = a.Runs[0].Run }, "run attn2-s-f0-e0-s1 is summarised twice"},
		{"ragged family", func(a *repeated.Analysis) { a.Families[0].CopyLoss = nil }, "family attn2 seed 1 has 3 sizes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := sampleRepeated()
			c.spoil(a)
			_, err := Repeated(a)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := Repeated(nil); err == nil || !strings.Contains(err.Error(), "no analysis") {
		t.Errorf("nil analysis: %v", err)
	}
}

func TestByEpochs(t *testing.T) {
	runs := []*repeated.Summary{
		{Final: repeated.Row{Epochs: 16}, CopyDamageRel: val(0.4)},
		{Final: repeated.Row{Epochs: 4}, CopyDamageRel: val(0.1)},
		{Final: repeated.Row{Epochs: 16}, CopyDamageRel: val(0.2)},
		{Final: repeated.Row{Epochs: 4}},
		{Final: repeated.Row{Epochs: 64}},
	}
	x, y, missing := byEpochs(runs, func(sm *repeated.Summary) *float64 { return sm.CopyDamageRel })
	if fmt.Sprint(x) != "[4 16]" || len(y) != 2 || math.Abs(y[0]-0.1) > 1e-12 || math.Abs(y[1]-0.3) > 1e-12 || missing != 2 {
		t.Errorf("byEpochs = %v %v %d, want [4 16] [0.1 0.3] 2", x, y, missing)
	}
}

func TestRepeatedReportInBrowser(t *testing.T) {
	browsertest.Require(t)
	path := filepath.Join(t.TempDir(), "repeated.html")
	r, err := Repeated(sampleRepeated())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, path)
	p.Check()
	if c := p.Charts(); c.Count != repeatedCharts || c.Drawn != repeatedCharts {
		t.Errorf("charts %+v, want %d drawn of %d", c, repeatedCharts, repeatedCharts)
	}
	var n int
	p.Eval(`mechinterp.data("repeated").runs.length`, &n)
	if n != 43 {
		t.Errorf("embedded %d runs, want 43", n)
	}
	var null bool
	p.Eval(`mechinterp.data("repeated").runs.find(r => r.run === "attn2-m-f0.5-e16-s2").copy_damage_rel === null`, &null)
	if !null {
		t.Error("a nil damage is not null in the embedded data")
	}
	screenshot(p, "repeated-report")
}
