package repeated

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/train"
)

// handStudy is a study whose rows the tests write by hand: three sizes of
// one architecture, seed 1, f = 0.1 at E = 10 and 100; 300 training steps.
// Its grid order is f0-s, f0.1-E10-s, f0.1-E100-s, f0-m, ..., f0.1-E100-l.
func handStudy() Study {
	return Study{
		Name:  "hand",
		Train: train.Config{Steps: 300},
		Sizes: []Size{{Name: "s", DModel: 8}, {Name: "m", DModel: 16}, {Name: "l", DModel: 32}},
		Archs: []Arch{{Name: "attn2", NLayers: 2, AttnOnly: true}},
		Grids: []Grid{{Fractions: []float64{0.1}, Epochs: []int{10, 100},
			Sizes: []string{"s", "m", "l"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}},
	}
}

// params of handStudy's sizes, by hand (Analyze only reads Row.Params).
var handParams = map[string]int{"s": 100, "m": 400, "l": 1600}

// hrow is one row of a handStudy run (arch attn2, seed 1) at step with test
// loss test; the other measurements are set by the caller.
func hrow(f float64, e int, size string, step int, test float64) Row {
	return Row{Run: runID(f, e, size, "attn2", 1), Fraction: f, Epochs: e, Size: size, Arch: "attn2",
		Params: handParams[size], Seed: 1, ContextFreeLoss: 4, Step: step, TestLoss: test}
}

func fp(x float64) *float64 { return &x }

func fmtp(p *float64) string {
	if p == nil {
		return "nil"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

// near says whether got is want (nil for nil) up to rounding.
func near(got, want *float64) bool {
	if got == nil || want == nil {
		return got == want
	}
	return math.Abs(*got-*want) <= 1e-9*max(1, math.Abs(*want))
}

func summaryOf(t *testing.T, a *Analysis, id string) Summary {
	t.Helper()
	for _, s := range a.Runs {
		if s.Run == id {
			return s
		}
	}
	t.Fatalf("no summary for %s among %d runs", id, len(a.Runs))
	return Summary{}
}

func TestAnalyzeDamage(t *testing.T) {
	type m struct{ test, copy, prefix float64 }
	cases := []struct {
		name        string
		base        *m // nil: the baseline has no rows
		run         m
		test, copy  *float64
		prefix      *float64
		testRel     *float64
		copyRel     *float64
		prefixRel   *float64
		hasBaseline bool
	}{
		{name: "formulas", base: &m{3, 1, 0.8}, run: m{3.5, 2.5, 0.2}, hasBaseline: true,
			// (3.5-3)/(4-3), (2.5-1)/(4-1), (0.8-0.2)/0.8
			test: fp(0.5), copy: fp(1.5), prefix: fp(0.6),
			testRel: fp(0.5), copyRel: fp(0.5), prefixRel: fp(0.75)},
		{name: "improvement is negative damage", base: &m{3, 2, 0.5}, run: m{2.5, 1, 0.7}, hasBaseline: true,
			test: fp(-0.5), copy: fp(-1), prefix: fp(-0.2),
			testRel: fp(-0.5), copyRel: fp(-0.5), prefixRel: fp(-0.4)},
		{name: "no baseline", run: m{3.5, 2.5, 0.2}},
		{name: "baseline at the context-free loss learned nothing", base: &m{4, 4, 0}, run: m{4.5, 4.25, 0.1},
			hasBaseline: true, test: fp(0.5), copy: fp(0.25), prefix: fp(-0.1)},
		{name: "baseline worse than context-free", base: &m{4.5, 5, 0}, run: m{4.75, 5.5, 0}, hasBaseline: true,
			test: fp(0.25), copy: fp(0.5), prefix: fp(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := hrow(0.1, 10, "m", 300, c.run.test)
			r.CopyLoss, r.PrefixMax = c.run.copy, c.run.prefix
			rows := []Row{r}
			if c.base != nil {
				b := hrow(0, 0, "m", 300, c.base.test)
				b.CopyLoss, b.PrefixMax = c.base.copy, c.base.prefix
				rows = append(rows, b)
			}
			a := Analyze(handStudy(), rows)
			sm := summaryOf(t, a, r.Run)
			wantBase := ""
			if c.hasBaseline {
				wantBase = "f0-m-attn2-s1"
			}
			if sm.Baseline != wantBase {
				t.Errorf("Baseline %q, want %q", sm.Baseline, wantBase)
			}
			for _, q := range []struct {
				name      string
				got, want *float64
			}{
				{"TestDamage", sm.TestDamage, c.test}, {"CopyDamage", sm.CopyDamage, c.copy},
				{"PrefixDamage", sm.PrefixDamage, c.prefix}, {"TestDamageRel", sm.TestDamageRel, c.testRel},
				{"CopyDamageRel", sm.CopyDamageRel, c.copyRel}, {"PrefixDamageRel", sm.PrefixDamageRel, c.prefixRel},
			} {
				if !near(q.got, q.want) {
					t.Errorf("%s = %s, want %s", q.name, fmtp(q.got), fmtp(q.want))
				}
			}
			if c.base != nil {
				bs := summaryOf(t, a, "f0-m-attn2-s1")
				if bs.Baseline != "" || bs.TestDamage != nil || bs.CopyDamage != nil || bs.PrefixDamage != nil ||
					bs.TestDamageRel != nil || bs.CopyDamageRel != nil || bs.PrefixDamageRel != nil {
					t.Errorf("the baseline is measured against itself: %+v", bs)
				}
			}
			if _, err := json.Marshal(a); err != nil {
				t.Errorf("analysis does not encode: %v", err)
			}
		})
	}
}

func TestEffectiveSize(t *testing.T) {
	params := []int{100, 400, 1600}
	down := []float64{3, 2.5, 2}
	cases := []struct {
		name   string
		params []int
		losses []float64
		loss   float64
		want   *float64
	}{
		{"midway in log size", params, down, 2.75, fp(200)},
		{"second segment", params, down, 2.25, fp(800)},
		{"a quarter of the way", params, down, 2.875, fp(100 * math.Sqrt2)},
		{"smallest size exactly", params, down, 3, fp(100)},
		{"middle size exactly", params, down, 2.5, fp(400)},
		{"largest size exactly", params, down, 2, fp(1600)},
		{"worse than the smallest", params, down, 3.5, nil},
		{"better than the largest", params, down, 1.5, nil},
		{"one size is no curve", []int{400}, []float64{2.5}, 2.5, nil},
		{"no sizes", nil, nil, 2.5, nil},
		// A curve that is not monotone: the smallest size that reaches it.
		{"non-monotone: first bracket", params, []float64{3, 2, 2.5}, 2.25, fp(100 * math.Pow(4, 0.75))},
		{"non-monotone: 1600 reaches it exactly, 200 first", params, []float64{3, 2, 2.5}, 2.5, fp(200)},
		{"non-monotone: only the second bracket", params, []float64{3, 2.5, 3.5}, 3.25, fp(400 * math.Pow(4, 0.75))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := effectiveSize(c.params, c.losses, c.loss); !near(got, c.want) {
				t.Errorf("effectiveSize(%v, %v, %v) = %s, want %s", c.params, c.losses, c.loss, fmtp(got), fmtp(c.want))
			}
		})
	}
}

// TestEffectiveSizeFlat is the case of a family with two sizes at the same
// loss: the smallest size that reaches the loss comes back.
func TestEffectiveSizeFlat(t *testing.T) {
	if got := effectiveSize([]int{100, 400}, []float64{3, 3}, 3); !near(got, fp(100)) {
		t.Errorf("flat family of two sizes at loss 3, run at 3: %s, want 100", fmtp(got))
	}
	if got := effectiveSize([]int{100, 400, 1600}, []float64{3, 3, 2}, 3); !near(got, fp(100)) {
		t.Errorf("family 3, 3, 2, run at 3: %s, want 100 (the smallest such size)", fmtp(got))
	}
}

func TestEffectiveSizeFamilies(t *testing.T) {
	fam := func(size string, test, copy float64) Row {
		r := hrow(0, 0, size, 300, test)
		r.CopyLoss = copy
		return r
	}
	run := func(size string, e int, test, copy float64) Row {
		r := hrow(0.1, e, size, 300, test)
		r.CopyLoss = copy
		return r
	}
	t.Run("three sizes", func(t *testing.T) {
		// Given largest first: the family is sorted by Params.
		rows := []Row{fam("l", 2, 0.5), fam("s", 3, 1.5), fam("m", 2.5, 1),
			run("m", 10, 2.75, 1.25), run("m", 100, 3.5, 0.25), run("l", 10, 2.25, 1.5)}
		a := Analyze(handStudy(), rows)
		if len(a.Families) != 1 {
			t.Fatalf("%d families, want 1: %+v", len(a.Families), a.Families)
		}
		f := a.Families[0]
		if f.Arch != "attn2" || f.Seed != 1 || !slices.Equal(f.Sizes, []string{"s", "m", "l"}) ||
			!slices.Equal(f.Params, []int{100, 400, 1600}) || !slices.Equal(f.TestLoss, []float64{3, 2.5, 2}) ||
			!slices.Equal(f.CopyLoss, []float64{1.5, 1, 0.5}) {
			t.Errorf("family %+v", f)
		}
		for _, c := range []struct {
			id                 string
			eff, share, effCpy *float64
		}{
			{"f0.1-E10-m-attn2-s1", fp(200), fp(0.5), fp(200)},
			{"f0.1-E100-m-attn2-s1", nil, nil, nil}, // test 3.5 above, copy 0.25 below the family
			{"f0.1-E10-l-attn2-s1", fp(800), fp(0.5), fp(100)},
			{"f0-m-attn2-s1", fp(400), fp(1), fp(400)}, // a baseline is its own size
			{"f0-s-attn2-s1", fp(100), fp(1), fp(100)},
		} {
			sm := summaryOf(t, a, c.id)
			if !near(sm.EffectiveParams, c.eff) || !near(sm.EffectiveShare, c.share) || !near(sm.EffectiveCopyParams, c.effCpy) {
				t.Errorf("%s: EffectiveParams %s, EffectiveShare %s, EffectiveCopyParams %s; want %s, %s, %s", c.id,
					fmtp(sm.EffectiveParams), fmtp(sm.EffectiveShare), fmtp(sm.EffectiveCopyParams),
					fmtp(c.eff), fmtp(c.share), fmtp(c.effCpy))
			}
		}
	})
	t.Run("one size is no family", func(t *testing.T) {
		a := Analyze(handStudy(), []Row{fam("m", 2.5, 1), run("m", 10, 2.5, 1)})
		if len(a.Families) != 0 {
			t.Errorf("families %+v, want none", a.Families)
		}
		if sm := summaryOf(t, a, "f0.1-E10-m-attn2-s1"); sm.EffectiveParams != nil || sm.EffectiveShare != nil || sm.EffectiveCopyParams != nil {
			t.Errorf("effective size without a family: %+v", sm)
		}
	})
	t.Run("unfinished runs are left out", func(t *testing.T) {
		l := fam("l", 2, 0.5)
		l.Step = 200 // stopped before Train.Steps
		a := Analyze(handStudy(), []Row{fam("s", 3, 1.5), fam("m", 2.5, 1), l, run("m", 10, 2.25, 0.75)})
		if len(a.Families) != 1 || !slices.Equal(a.Families[0].Params, []int{100, 400}) {
			t.Fatalf("families %+v, want s and m only", a.Families)
		}
		if sm := summaryOf(t, a, "f0-l-attn2-s1"); sm.Complete {
			t.Errorf("a run stopped at step 200 of 300 is complete")
		}
		if sm := summaryOf(t, a, "f0.1-E10-m-attn2-s1"); sm.EffectiveParams != nil {
			t.Errorf("loss 2.25 is beyond the finished family (3, 2.5), got EffectiveParams %s", fmtp(sm.EffectiveParams))
		}
		// Only s is left finished: no family at all.
		s2 := fam("s", 3, 1.5)
		s2.Step = 100
		a = Analyze(handStudy(), []Row{s2, fam("m", 2.5, 1)})
		if len(a.Families) != 0 {
			t.Errorf("families %+v, want none (one finished size)", a.Families)
		}
	})
	t.Run("families by seed", func(t *testing.T) {
		s := handStudy()
		s.Grids[0].Seeds = []uint64{1, 2}
		seed2 := func(r Row) Row {
			r.Seed = 2
			r.Run = runID(r.Fraction, r.Epochs, r.Size, r.Arch, 2)
			return r
		}
		rows := []Row{fam("s", 3, 1.5), fam("m", 2.5, 1),
			seed2(fam("s", 4, 2)), seed2(fam("m", 3, 1.5)), seed2(run("m", 10, 3.5, 1.75))}
		a := Analyze(s, rows)
		if len(a.Families) != 2 || a.Families[0].Seed != 1 || a.Families[1].Seed != 2 {
			t.Fatalf("families %+v, want seed 1 then seed 2", a.Families)
		}
		if sm := summaryOf(t, a, "f0.1-E10-m-attn2-s2"); !near(sm.EffectiveParams, fp(200)) {
			t.Errorf("seed 2's run read off its own family (4, 3): EffectiveParams %s, want 200", fmtp(sm.EffectiveParams))
		}
	})
}

// pm builds [layer][head] prefix-matching scores: 2 layers of 3 heads, all
// 0.1 but the ones set ("L1H0": 0.5).
func pm(set map[string]float64) [][]float64 {
	out := [][]float64{{0.1, 0.1, 0.1}, {0.1, 0.1, 0.1}}
	for k, v := range set {
		var l, h int
		if _, err := fmt.Sscanf(k, "L%dH%d", &l, &h); err != nil {
			panic(k)
		}
		out[l][h] = v
	}
	return out
}

func TestFate(t *testing.T) {
	type sc = map[string]float64
	cases := []struct {
		name      string
		scores    []sc // at steps 0, 100, 200, ...
		formation int
		fate      string
	}{
		{"formed", []sc{{}, {"L1H2": 0.3}, {"L1H2": 0.5}, {"L1H2": 0.6}}, 200, FateFormed},
		{"formed at the threshold", []sc{{}, {"L0H1": 0.4}, {"L0H1": 0.4}}, 100, FateFormed},
		{"formed at the last checkpoint", []sc{{}, {}, {"L0H0": 0.9}}, 200, FateFormed},
		{"formed after a dip", []sc{{}, {"L1H0": 0.5}, {"L1H0": 0.3}, {"L1H0": 0.5}, {"L1H0": 0.6}}, 300, FateFormed},
		{"one of two first crossers holds", []sc{{}, {"L0H2": 0.5, "L1H1": 0.5}, {"L0H2": 0.2, "L1H1": 0.7}}, 100, FateFormed},
		{"first holds, a later head forms earlier for good",
			[]sc{{}, {"L0H0": 0.5}, {"L0H0": 0.2, "L1H1": 0.5}, {"L0H0": 0.5, "L1H1": 0.5}}, 200, FateFormed},
		{"never", []sc{{}, {"L1H2": 0.39}, {"L1H2": 0.3}}, -1, FateNever},
		{"collapsed", []sc{{}, {"L1H2": 0.6}, {"L1H2": 0.7}, {"L1H2": 0.2}}, -1, FateCollapsed},
		{"collapsed after a second head", []sc{{}, {"L0H1": 0.6}, {"L1H0": 0.6}, {}}, -1, FateCollapsed},
		// L0H1 crosses first and drops; L1H0 (its transpose) takes over.
		{"replaced", []sc{{}, {"L0H1": 0.5}, {"L0H1": 0.45, "L1H0": 0.3}, {"L0H1": 0.2, "L1H0": 0.5}, {"L0H1": 0.1, "L1H0": 0.8}},
			300, FateReplaced},
		{"replaced by a head in the first's layer", []sc{{"L1H1": 0.5}, {"L1H1": 0.3, "L1H2": 0.6}}, 100, FateReplaced},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := make([]Row, len(c.scores))
			for i, s := range c.scores {
				rs[i] = Row{Step: 100 * i, PrefixMatching: pm(s)}
			}
			step, fate := fate(rs, 0.4)
			if step != c.formation || fate != c.fate {
				t.Errorf("fate = %d, %q; want %d, %q", step, fate, c.formation, c.fate)
			}
		})
	}
	t.Run("no scores", func(t *testing.T) {
		if step, f := fate([]Row{{Step: 0}, {Step: 100}}, 0.4); step != -1 || f != FateNever {
			t.Errorf("fate without scores = %d, %q; want -1, never", step, f)
		}
		if step, f := fate(nil, 0.4); step != -1 || f != FateNever {
			t.Errorf("fate of no rows = %d, %q; want -1, never", step, f)
		}
	})
}

// TestFateDelayed checks the verdict Analyze adds against the baseline and
// that rows reach fate in step order whatever their order in the table.
func TestFateDelayed(t *testing.T) {
	// rowsFormingAt gives the rows of a run at steps 0, 50, ..., 300 whose
	// head L1H1 is above 0.4 from step at on (never if at < 0), in reverse.
	rowsFormingAt := func(f float64, e int, at int) []Row {
		var rs []Row
		for step := 300; step >= 0; step -= 50 {
			r := hrow(f, e, "m", step, 3)
			v := 0.2
			if at >= 0 && step >= at {
				v = 0.6
			}
			r.PrefixMatching = pm(map[string]float64{"L1H1": v})
			rs = append(rs, r)
		}
		return rs
	}
	cases := []struct {
		name      string
		factor    float64 // Analysis.DelayFactor; 0 is the default 1.5
		base, run int     // formation steps; -1 never
		fate      string
	}{
		{"on time", 0, 100, 100, FateFormed},
		{"earlier", 0, 100, 50, FateFormed},
		{"exactly 1.5 times", 0, 100, 150, FateFormed},
		{"later than 1.5 times", 0, 100, 200, FateDelayed},
		{"factor 2 allows 2 times", 2, 100, 200, FateFormed},
		{"factor 2, later", 2, 100, 250, FateDelayed},
		{"baseline never formed", 0, -1, 300, FateFormed},
		{"run never formed", 0, 100, -1, FateNever},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := handStudy()
			s.Analysis.DelayFactor = c.factor
			rows := append(rowsFormingAt(0.1, 10, c.run), rowsFormingAt(0, 0, c.base)...)
			a := Analyze(s, rows)
			sm := summaryOf(t, a, "f0.1-E10-m-attn2-s1")
			if sm.Fate != c.fate || sm.Formation != c.run || sm.BaselineFormation != c.base {
				t.Errorf("fate %q, formation %d, baseline formation %d; want %q, %d, %d",
					sm.Fate, sm.Formation, sm.BaselineFormation, c.fate, c.run, c.base)
			}
			bs := summaryOf(t, a, "f0-m-attn2-s1")
			wantBase := FateFormed
			if c.base < 0 {
				wantBase = FateNever
			}
			if bs.Fate != wantBase || bs.Formation != c.base || bs.BaselineFormation != -1 {
				t.Errorf("baseline: fate %q, formation %d, baseline formation %d", bs.Fate, bs.Formation, bs.BaselineFormation)
			}
		})
	}
	t.Run("threshold from the study", func(t *testing.T) {
		s := handStudy()
		s.Analysis.Induction = 0.7 // 0.6 no longer counts
		a := Analyze(s, rowsFormingAt(0.1, 10, 100))
		if sm := summaryOf(t, a, "f0.1-E10-m-attn2-s1"); sm.Fate != FateNever || a.Threshold != 0.7 {
			t.Errorf("threshold 0.7: fate %q (want never), Analysis.Threshold %v", sm.Fate, a.Threshold)
		}
	})
}

func TestAnalyzeMemorized(t *testing.T) {
	cases := []struct {
		name  string
		limit float64 // Analysis.MemorizedLoss; 0 is the default 0.1
		rep   []*float64
		want  int
	}{
		{"at the limit", 0, []*float64{nil, fp(2), fp(0.5), fp(0.1), fp(0.05), fp(0.01)}, 150},
		{"below it", 0, []*float64{nil, fp(2), fp(0.5), fp(0.11), fp(0.09), fp(0.2)}, 200},
		{"never", 0, []*float64{nil, fp(2), fp(0.5), fp(0.3), fp(0.2), fp(0.1000001)}, -1},
		{"no subset loss (f = 0)", 0, []*float64{nil, nil, nil}, -1},
		{"limit from the study", 0.5, []*float64{nil, fp(2), fp(0.5), fp(0.3)}, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := handStudy()
			s.Analysis.MemorizedLoss = c.limit
			var rows []Row
			for i := len(c.rep) - 1; i >= 0; i-- { // last step first
				r := hrow(0.1, 100, "s", 50*i, 3)
				r.RepeatedLoss = c.rep[i]
				rows = append(rows, r)
			}
			a := Analyze(s, rows)
			if sm := summaryOf(t, a, "f0.1-E100-s-attn2-s1"); sm.MemorizedStep != c.want {
				t.Errorf("MemorizedStep %d, want %d", sm.MemorizedStep, c.want)
			}
		})
	}
}

func TestDescent(t *testing.T) {
	cases := []struct {
		name        string
		test        []float64 // at steps 0, 100, 200, ...
		double      bool
		start, peak int
		rise        float64
	}{
		{"double descent", []float64{4, 3, 3.2, 2.8}, true, 100, 200, 0.2},
		{"rises and never falls back", []float64{4, 3, 3.2, 3.3}, false, 100, 300, 0.3},
		{"falls back by less than the rise threshold", []float64{4, 3, 3.3, 3.26}, false, 100, 200, 0.3},
		{"falls back by exactly the threshold", []float64{4, 3, 3.3, 3.25}, true, 100, 200, 0.3},
		{"rise below the threshold", []float64{4, 3, 3.04, 2.5}, false, 100, 200, 0.04},
		{"monotone", []float64{4, 3, 2, 1}, false, -1, -1, 0},
		{"flat", []float64{3, 3, 3}, false, -1, -1, 0},
		{"two checkpoints", []float64{3, 4}, false, -1, -1, 0},
		{"the largest rise wins", []float64{4, 3, 3.1, 2.5, 2.9, 2}, true, 300, 400, 0.4},
		{"from the running minimum", []float64{4, 3, 3.2, 3.1, 3.4, 2}, true, 100, 400, 0.4},
		{"rise from the first checkpoint", []float64{2, 2.5, 1.5}, true, 0, 100, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := make([]Row, len(c.test))
			for i, v := range c.test {
				rs[i] = Row{Step: 100 * i, TestLoss: v}
			}
			sm := &Summary{DescentStart: -1, PeakTestStep: -1}
			descent(sm, rs, 0.05)
			if sm.DoubleDescent != c.double || sm.DescentStart != c.start || sm.PeakTestStep != c.peak ||
				math.Abs(sm.DescentRise-c.rise) > 1e-9 {
				t.Errorf("double %v, start %d, peak %d, rise %v; want %v, %d, %d, %v",
					sm.DoubleDescent, sm.DescentStart, sm.PeakTestStep, sm.DescentRise, c.double, c.start, c.peak, c.rise)
			}
		})
	}
}

func TestAnalyzeDescent(t *testing.T) {
	rowsOf := func(f float64, e int, test ...float64) []Row {
		var rs []Row
		for i := len(test) - 1; i >= 0; i-- { // unsorted on purpose
			rs = append(rs, hrow(f, e, "l", 100*i, test[i]))
		}
		return rs
	}
	rows := append(rowsOf(0.1, 100, 4, 3, 3.2, 2.8), rowsOf(0.1, 10, 4, 3, 3.2, 3.3)...)
	rows = append(rows, rowsOf(0, 0, 4, 3, 2.5, 2.2)...)
	a := Analyze(handStudy(), rows)
	if a.DescentRise != 0.05 {
		t.Errorf("Analysis.DescentRise %v, want the default 0.05", a.DescentRise)
	}
	dd := summaryOf(t, a, "f0.1-E100-l-attn2-s1")
	if !dd.DoubleDescent || dd.DescentStart != 100 || dd.PeakTestStep != 200 || math.Abs(dd.DescentRise-0.2) > 1e-9 {
		t.Errorf("4, 3, 3.2, 2.8: %+v", dd)
	}
	up := summaryOf(t, a, "f0.1-E10-l-attn2-s1")
	if up.DoubleDescent || up.DescentStart != 100 || up.PeakTestStep != 300 || math.Abs(up.DescentRise-0.3) > 1e-9 {
		t.Errorf("4, 3, 3.2, 3.3: %+v", up)
	}
	base := summaryOf(t, a, "f0-l-attn2-s1")
	if base.DoubleDescent || base.DescentStart != -1 || base.PeakTestStep != -1 || base.DescentRise != 0 {
		t.Errorf("monotone baseline: %+v", base)
	}
	// A larger threshold turns the double descent off.
	s := handStudy()
	s.Analysis.DescentRise = 0.25
	if sm := summaryOf(t, Analyze(s, rows), "f0.1-E100-l-attn2-s1"); sm.DoubleDescent {
		t.Errorf("a rise of 0.2 is double descent at threshold 0.25")
	}
}

func TestAnalyzeOrder(t *testing.T) {
	s := handStudy()
	planned := s.Runs()
	if len(planned) != 9 {
		t.Fatalf("handStudy has %d runs, want 9", len(planned))
	}
	// Rows of four grid runs and two the grid no longer names, shuffled.
	stray1 := Row{Run: "f0.9-E1-xl-attn2-s1", Fraction: 0.9, Epochs: 1, Size: "xl", Arch: "attn2", Seed: 1, ContextFreeLoss: 4}
	stray2 := Row{Run: "f0-xl-attn2-s1", Size: "xl", Arch: "attn2", Seed: 1, ContextFreeLoss: 2}
	at := func(r Row, step int) Row { r.Step = step; return r }
	rows := []Row{
		hrow(0.1, 100, "l", 300, 3), at(stray1, 300), hrow(0, 0, "m", 100, 3),
		hrow(0.1, 10, "s", 300, 3), hrow(0.1, 100, "l", 0, 4), at(stray2, 50), hrow(0, 0, "m", 0, 4),
		hrow(0.1, 10, "s", 0, 4), hrow(0.1, 10, "s", 150, 3.5), hrow(0, 0, "s", 300, 3), at(stray1, 0),
	}
	a := Analyze(s, rows)
	var got []string
	for _, sm := range a.Runs {
		got = append(got, sm.Run)
	}
	want := []string{"f0-s-attn2-s1", "f0.1-E10-s-attn2-s1", "f0-m-attn2-s1", "f0.1-E100-l-attn2-s1",
		"f0-xl-attn2-s1", "f0.9-E1-xl-attn2-s1"}
	if !slices.Equal(got, want) {
		t.Errorf("runs %v,\nwant %v (grid order, then the others by ID)", got, want)
	}
	wantMissing := []string{"f0.1-E100-s-attn2-s1", "f0.1-E10-m-attn2-s1", "f0.1-E100-m-attn2-s1",
		"f0-l-attn2-s1", "f0.1-E10-l-attn2-s1"}
	if a.Planned != 9 || !slices.Equal(a.Missing, wantMissing) {
		t.Errorf("planned %d, missing %v; want 9, %v", a.Planned, a.Missing, wantMissing)
	}
	var table []string
	for _, r := range a.Rows {
		table = append(table, r.Run+"@"+strconv.Itoa(r.Step))
	}
	wantTable := []string{"f0-s-attn2-s1@300", "f0.1-E10-s-attn2-s1@0", "f0.1-E10-s-attn2-s1@150",
		"f0.1-E10-s-attn2-s1@300", "f0-m-attn2-s1@0", "f0-m-attn2-s1@100", "f0.1-E100-l-attn2-s1@0",
		"f0.1-E100-l-attn2-s1@300", "f0-xl-attn2-s1@50", "f0.9-E1-xl-attn2-s1@0", "f0.9-E1-xl-attn2-s1@300"}
	if !slices.Equal(table, wantTable) {
		t.Errorf("rows %v,\nwant %v", table, wantTable)
	}
	complete := map[string]bool{"f0-s-attn2-s1": true, "f0.1-E10-s-attn2-s1": true, "f0-m-attn2-s1": false,
		"f0.1-E100-l-attn2-s1": true, "f0-xl-attn2-s1": false, "f0.9-E1-xl-attn2-s1": true}
	for _, sm := range a.Runs {
		if sm.Complete != complete[sm.Run] {
			t.Errorf("%s: Complete %v at final step %d of %d", sm.Run, sm.Complete, sm.Final.Step, s.Train.Steps)
		}
		if last := slices.IndexFunc(a.Rows, func(r Row) bool { return r.Run == sm.Run && r.Step > sm.Final.Step }); last >= 0 {
			t.Errorf("%s: final row at step %d is not the last", sm.Run, sm.Final.Step)
		}
	}
	// The mean context-free loss of the final rows: five at 4, one at 2.
	if want := (5*4 + 2) / 6.0; math.Abs(a.ContextFreeLoss-want) > 1e-12 {
		t.Errorf("ContextFreeLoss %v, want %v", a.ContextFreeLoss, want)
	}
	if a.Study != "hand" || a.Threshold != 0.4 || a.DelayFactor != 1.5 || a.MemorizedLoss != 0.1 || a.DescentRise != 0.05 {
		t.Errorf("header: %q %v %v %v %v", a.Study, a.Threshold, a.DelayFactor, a.MemorizedLoss, a.DescentRise)
	}
	// A run named by two grids is planned once.
	s.Grids = append(s.Grids, Grid{Fractions: []float64{0.1}, Epochs: []int{10}, Sizes: []string{"s"},
		Archs: []string{"attn2"}, Seeds: []uint64{1}})
	if a := Analyze(s, rows); a.Planned != 9 {
		t.Errorf("overlapping grids: planned %d, want 9", a.Planned)
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	for _, s := range []Study{handStudy(), {}} {
		a := Analyze(s, nil)
		if a.Planned != len(s.Runs()) || len(a.Runs) != 0 || len(a.Rows) != 0 || len(a.Families) != 0 ||
			len(a.Missing) != a.Planned {
			t.Errorf("%q: planned %d, %d runs, %d rows, %d families, %d missing",
				s.Name, a.Planned, len(a.Runs), len(a.Rows), len(a.Families), len(a.Missing))
		}
		if a.ContextFreeLoss != 0 {
			t.Errorf("%q: ContextFreeLoss %v of no rows, want 0", s.Name, a.ContextFreeLoss)
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("%q: %v", s.Name, err)
		}
		var back Analysis
		if err := json.Unmarshal(b, &back); err != nil || back.Planned != a.Planned {
			t.Errorf("%q: round trip %v, planned %d", s.Name, err, back.Planned)
		}
	}
	// A lone run without baseline or family encodes its missing numbers as null.
	a := Analyze(handStudy(), []Row{hrow(0.1, 10, "m", 300, 3)})
	b, err := json.Marshal(a.Runs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"test_damage":null`, `"test_damage_rel":null`, `"effective_params":null`,
		`"effective_share":null`, `"memorized_step":-1`, `"formation":-1`, `"fate":"never"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("summary JSON lacks %s: %s", k, b)
		}
	}
}

// TestAnalyzeDamageSameStep: a baseline that stopped at another step than
// the run (an unfinished shard) gives no damage rather than a comparison of
// different amounts of training.
func TestAnalyzeDamageSameStep(t *testing.T) {
	r := hrow(0.1, 10, "m", 300, 3.5)
	b := hrow(0, 0, "m", 100, 3)
	sm := summaryOf(t, Analyze(handStudy(), []Row{r, b}), r.Run)
	if sm.Baseline != "" || sm.TestDamage != nil || sm.CopyDamage != nil {
		t.Errorf("baseline at step 100, run at 300: baseline %q, test damage %v; want none", sm.Baseline, sm.TestDamage)
	}
}
