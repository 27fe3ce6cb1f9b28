package report

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/viz"
)

// Repeated builds the page of `mechinterp repeated report DIR` for the repeated-data study
// of Hernandez et al. 2022 ("Scaling Laws and Interpretability of Learning from Repeated Data"):
// the damage that repeating a fraction f of the training tokens E times does to test loss,
// copying and prefix matching, against E for each f and as relative damage on one scale;
// effective model size read off the f = 0 size family; each run's induction heads over
// training and their fate; and the test loss of the largest f over training, where double
// descent shows. The whole Analysis is embedded as JSON (mechinterp.data("repeated")).
// A nil analysis, one without runs, rows whose per-head grids do not match their run's
// layers × heads, and non-finite numbers are errors. Runs without an f = 0 baseline (nil
// damages) and runs outside the family's range (nil effective size) are left out of the
// charts they cannot be drawn on, and the page says so. The returned report has no
// mistakes: any is returned as the error.
func Repeated(a *repeated.Analysis) (*viz.Report, error) {
	if err := checkRepeated(a); err != nil {
		return nil, fmt.Errorf("repeated report: %w", err)
	}
	s := newRepStudy(a)
	r := viz.NewReport("Repeated data: " + orDefault(a.Study, "study"))
	s.header(r)
	s.damage(r)
	s.effective(r)
	s.training(r)
	s.descent(r)
	r.Data("repeated", a)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("repeated report: %w", err)
	}
	return r, nil
}

// checkRepeated rejects what the page cannot show: no runs, ragged per-head grids, rows of
// runs the analysis does not summarise, and numbers JSON cannot hold (NaN, ±Inf), naming
// the run and step at fault.
func checkRepeated(a *repeated.Analysis) error {
	if a == nil {
		return errors.New("no analysis")
	}
	if len(a.Runs) == 0 {
		return fmt.Errorf("study %q has no runs with results (%d planned)", a.Study, a.Planned)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"context_free_loss", a.ContextFreeLoss}, {"threshold", a.Threshold}, {"delay_factor", a.DelayFactor},
		{"memorized_loss", a.MemorizedLoss}, {"descent_rise", a.DescentRise}} {
		if !finite(v.v) {
			return fmt.Errorf("%s is %g", v.name, v.v)
		}
	}
	runs := map[string]bool{}
	for i := range a.Runs {
		sm := &a.Runs[i]
		if sm.Run == "" {
			return fmt.Errorf("run %d of %d has no ID", i+1, len(a.Runs))
		}
		if runs[sm.Run] {
			return fmt.Errorf("run %s is summarised twice", sm.Run)
		}
		runs[sm.Run] = true
		if err := checkRepRow(&sm.Final); err != nil {
			return fmt.Errorf("final row of %w", err)
		}
		for _, p := range []struct {
			name string
			v    *float64
		}{{"test_damage", sm.TestDamage}, {"copy_damage", sm.CopyDamage}, {"prefix_damage", sm.PrefixDamage},
			{"test_damage_rel", sm.TestDamageRel}, {"copy_damage_rel", sm.CopyDamageRel}, {"prefix_damage_rel", sm.PrefixDamageRel},
			{"effective_params", sm.EffectiveParams}, {"effective_share", sm.EffectiveShare}, {"effective_copy_params", sm.EffectiveCopyParams},
			{"descent_rise", &sm.DescentRise}} {
			if p.v != nil && !finite(*p.v) {
				return fmt.Errorf("run %s: %s is %g", sm.Run, p.name, *p.v)
			}
		}
	}
	for i := range a.Rows {
		row := &a.Rows[i]
		if !runs[row.Run] {
			return fmt.Errorf("row %d (run %q, step %d) belongs to no run of the analysis", i+1, row.Run, row.Step)
		}
		if err := checkRepRow(row); err != nil {
			return err
		}
	}
	for _, f := range a.Families {
		n := len(f.Params)
		if len(f.Sizes) != n || len(f.TestLoss) != n || len(f.CopyLoss) != n {
			return fmt.Errorf("family %s seed %d has %d sizes, %d parameter counts, %d test losses and %d copy losses",
				f.Arch, f.Seed, len(f.Sizes), n, len(f.TestLoss), len(f.CopyLoss))
		}
		for i := range n {
			if !finite(f.TestLoss[i]) || !finite(f.CopyLoss[i]) {
				return fmt.Errorf("family %s seed %d, size %s: loss is not finite", f.Arch, f.Seed, f.Sizes[i])
			}
		}
	}
	return nil
}

// checkRepRow checks one row's per-head grids against its layers × heads and its numbers
// for finiteness.
func checkRepRow(row *repeated.Row) error {
	at := fmt.Sprintf("run %s step %d", row.Run, row.Step)
	if row.NLayers <= 0 || row.NHeads <= 0 {
		return fmt.Errorf("%s: %d layers × %d heads", at, row.NLayers, row.NHeads)
	}
	if !isGrid(row.PrefixMatching, row.NLayers, row.NHeads) {
		return fmt.Errorf("%s: prefix-matching scores are not %d layers × %d heads", at, row.NLayers, row.NHeads)
	}
	if row.Copying != nil && !isGrid(row.Copying, row.NLayers, row.NHeads) {
		return fmt.Errorf("%s: copying scores are not %d layers × %d heads", at, row.NLayers, row.NHeads)
	}
	vals := []struct {
		name string
		v    *float64
	}{{"fraction", &row.Fraction}, {"repeated_share", &row.RepeatedShare}, {"train_loss", row.TrainLoss},
		{"test_loss", &row.TestLoss}, {"repeated_loss", row.RepeatedLoss}, {"copy_loss", &row.CopyLoss},
		{"induction_loss", &row.InductionLoss}, {"icl_score", &row.ICLScore}, {"prefix_max", &row.PrefixMax}}
	for _, v := range vals {
		if v.v != nil && !finite(*v.v) {
			return fmt.Errorf("%s: %s is %g", at, v.name, *v.v)
		}
	}
	for _, grid := range [][][]float64{row.PrefixMatching, row.Copying, {row.CopyLossByCopy}} {
		for _, line := range grid {
			for _, v := range line {
				if !finite(v) {
					return fmt.Errorf("%s: a per-head score or per-copy loss is %g", at, v)
				}
			}
		}
	}
	return nil
}

// repGroup is the runs of one architecture and size: the f = 0 baselines, and the runs of
// each f > 0 (fracs, ascending).
type repGroup struct {
	arch, size string
	params     int
	base       []*repeated.Summary
	byF        map[float64][]*repeated.Summary
	fracs      []float64
}

func (g *repGroup) name() string { return g.arch + " " + g.size }

// repStudy is the analysis arranged for the page.
type repStudy struct {
	a      *repeated.Analysis
	groups []*repGroup               // by architecture and size, in grid order
	rows   map[string][]repeated.Row // run -> rows by step
	fracs  []float64                 // every f > 0, ascending
}

func newRepStudy(a *repeated.Analysis) *repStudy {
	s := &repStudy{a: a, rows: map[string][]repeated.Row{}}
	index := map[[2]string]*repGroup{}
	for i := range a.Runs {
		sm := &a.Runs[i]
		k := [2]string{sm.Final.Arch, sm.Final.Size}
		g := index[k]
		if g == nil {
			g = &repGroup{arch: k[0], size: k[1], params: sm.Final.Params, byF: map[float64][]*repeated.Summary{}}
			index[k] = g
			s.groups = append(s.groups, g)
		}
		f := sm.Final.Fraction
		if f == 0 {
			g.base = append(g.base, sm)
			continue
		}
		if g.byF[f] == nil {
			g.fracs = append(g.fracs, f)
		}
		g.byF[f] = append(g.byF[f], sm)
		if !slices.Contains(s.fracs, f) {
			s.fracs = append(s.fracs, f)
		}
	}
	slices.Sort(s.fracs)
	for _, g := range s.groups {
		slices.Sort(g.fracs)
	}
	for _, row := range a.Rows {
		s.rows[row.Run] = append(s.rows[row.Run], row)
	}
	for _, rows := range s.rows {
		slices.SortStableFunc(rows, func(x, y repeated.Row) int { return x.Step - y.Step })
	}
	return s
}

// damaged returns the groups that have runs with f > 0.
func (s *repStudy) damaged() []*repGroup {
	var out []*repGroup
	for _, g := range s.groups {
		if len(g.fracs) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// header is the study line, the missing runs and the thresholds.
func (s *repStudy) header(r *viz.Report) {
	a := s.a
	incomplete := 0
	for _, sm := range a.Runs {
		if !sm.Complete {
			incomplete++
		}
	}
	fr := make([]string, len(s.fracs))
	for i, f := range s.fracs {
		fr[i] = g3(f)
	}
	text := fmt.Sprintf("Hernandez et al. 2022 train on a fixed budget of tokens of which a fraction f repeats a small subset E times (epochs); "+
		"the rest are seen once, and test loss is measured on held-out unique data. They find the damage largest in a middle range of E, "+
		"where the repeated subset is memorized, and copying and prefix matching (the work of induction heads) damaged more than test loss.\n\n"+
		"%d of %d planned runs have results (%d architecture × size groups; f > 0: %s). %d of them have not reached their last step: "+
		"their \"final\" numbers are those of their last checkpoint.",
		len(a.Runs), a.Planned, len(s.groups), orDefault(strings.Join(fr, ", "), "none"), incomplete)
	r.Section("", text)
	r.Section("", fmt.Sprintf("Thresholds: an induction head has formed when a head's prefix-matching score reaches %g and stays there; "+
		"formation later than %g × the f = 0 baseline's counts as delayed; the repeated subset counts as memorized once its loss is at most %g nats; "+
		"a rise of test loss above its running minimum of more than %g nats counts as double descent. "+
		"Relative damages use the context-free (unigram) loss of the held-out data, %.3f nats, as the loss of a model that learned nothing. "+
		"Every number is embedded in this page as JSON (mechinterp.data(\"repeated\")) and in results.jsonl and results.csv.",
		a.Threshold, a.DelayFactor, a.MemorizedLoss, a.DescentRise, a.ContextFreeLoss))
	if len(a.Missing) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, `<details class="mi-missing"><summary>%d planned runs have no results yet</summary><ul>`, len(a.Missing))
		for _, id := range a.Missing {
			fmt.Fprintf(&b, "<li><code>%s</code></li>", html.EscapeString(id))
		}
		b.WriteString("</ul></details>")
		r.Raw(template.HTML(b.String()))
	}
}

// byEpochs averages get over the runs at each E (the seeds), skipping nil values, and returns
// the points sorted by E and how many values were nil.
func byEpochs(runs []*repeated.Summary, get func(*repeated.Summary) *float64) (x, y []float64, missing int) {
	sum, n := map[int]float64{}, map[int]int{}
	var es []int
	for _, sm := range runs {
		e := sm.Final.Epochs
		if _, seen := n[e]; !seen {
			es = append(es, e)
			n[e] = 0
		}
		v := get(sm)
		if v == nil {
			missing++
			continue
		}
		sum[e] += *v
		n[e]++
	}
	slices.Sort(es)
	for _, e := range es {
		if n[e] > 0 {
			x, y = append(x, float64(e)), append(y, sum[e]/float64(n[e]))
		}
	}
	return x, y, missing
}

// meanOf averages get over runs.
func meanOf(runs []*repeated.Summary, get func(*repeated.Summary) float64) float64 {
	v := make([]float64, len(runs))
	for i, sm := range runs {
		v[i] = get(sm)
	}
	return mean(v)
}

func val(v float64) *float64 { return &v }

func fLabel(f float64) string { return "f = " + g3(f) }

// runIDs lists IDs, shortened past a few.
func runIDs(runs []*repeated.Summary) string {
	ids := make([]string, 0, len(runs))
	for _, sm := range runs {
		ids = append(ids, sm.Run)
	}
	if len(ids) > 6 {
		ids = append(ids[:6], fmt.Sprintf("and %d more", len(ids)-6))
	}
	return strings.Join(ids, ", ")
}

// damage draws, per architecture and size, the final losses and PrefixMax against E for each
// f beside the f = 0 baseline, then the three relative damages on one scale per f.
func (s *repStudy) damage(r *viz.Report) {
	groups := s.damaged()
	if len(groups) == 0 {
		r.Section("Damage against epochs", "The study has no runs with f > 0 yet, so there is no damage to show.")
		return
	}
	r.Section("Damage against epochs", "Final numbers of each run against the number of times E the repeated subset is seen (log axis), "+
		"one line per fraction f, averaged over seeds; the dashed horizontal line is the f = 0 baseline of the same architecture and size, "+
		"averaged over seeds. Hernandez et al. 2022 find the damage largest in a middle range of E, not at the largest E: "+
		"with few epochs the repeats are barely different from unique data, with very many they are a tiny subset that costs little capacity.")
	metrics := []struct {
		title, y, what string
		get            func(*repeated.Summary) float64
		threshold      bool // draw the induction-head threshold, so the axis shows how far below it the scores are
	}{
		{"Final test loss", "test loss (nats)", "held-out loss on unique data", func(sm *repeated.Summary) float64 { return sm.Final.TestLoss }, false},
		{"Final copy loss", "copy loss (nats)", "loss on copies 2..k of a passage repeated in context; copying is the work of induction heads", func(sm *repeated.Summary) float64 { return sm.Final.CopyLoss }, false},
		{"Final prefix matching", "largest prefix-matching score", "the best head's prefix-matching score; induction heads score near 1", func(sm *repeated.Summary) float64 { return sm.Final.PrefixMax }, true},
	}
	for _, g := range groups {
		for _, m := range metrics {
			var series []viz.Series
			for _, f := range g.fracs {
				x, y, _ := byEpochs(g.byF[f], func(sm *repeated.Summary) *float64 { return val(m.get(sm)) })
				series = append(series, viz.Series{Name: fLabel(f), X: x, Y: y})
			}
			opts := []viz.Option{viz.LogX()}
			// A single line has no legend, so the caption names its f.
			caption := "One line per f: " + m.what + "."
			if len(g.fracs) == 1 {
				caption = "The " + fLabel(g.fracs[0]) + " runs: " + m.what + "."
			}
			if m.threshold {
				opts = append(opts, viz.HLine(s.a.Threshold, "induction head"))
				caption += fmt.Sprintf(" The line at %g: the score at which a head counts as an induction head.", s.a.Threshold)
			}
			if len(g.base) > 0 {
				opts = append(opts, viz.HLine(meanOf(g.base, m.get), "f = 0"))
				caption += " Dashed: the f = 0 baseline."
			} else {
				caption += " This group has no f = 0 run, so no baseline is drawn."
			}
			r.Add(viz.Lines(viz.Spec{Title: m.title + ": " + g.name(), X: "epochs E", Y: m.y, Caption: caption}, series, opts...))
		}
		var peaks, notes []string
		for _, f := range g.fracs {
			runs := g.byF[f]
			tx, ty, tm := byEpochs(runs, func(sm *repeated.Summary) *float64 { return sm.TestDamageRel })
			cx, cy, cm := byEpochs(runs, func(sm *repeated.Summary) *float64 { return sm.CopyDamageRel })
			px, py, pm := byEpochs(runs, func(sm *repeated.Summary) *float64 { return sm.PrefixDamageRel })
			var noBase []*repeated.Summary
			for _, sm := range runs {
				if sm.TestDamageRel == nil || sm.CopyDamageRel == nil || sm.PrefixDamageRel == nil {
					noBase = append(noBase, sm)
				}
			}
			if len(noBase) > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d run(s) lack a baseline or a damage (%s); %d test, %d copy and %d prefix-matching values are not drawn.",
					fLabel(f), len(noBase), runIDs(noBase), tm, cm, pm))
			}
			if len(tx)+len(cx)+len(px) == 0 {
				peaks = append(peaks, fmt.Sprintf("%s: no run has a damage (no f = 0 baseline), so no chart.", fLabel(f)))
				continue
			}
			r.Add(viz.Lines(viz.Spec{Title: fmt.Sprintf("Relative damage: %s, %s", g.name(), fLabel(f)), X: "epochs E", Y: "share of the baseline's learning lost",
				Caption: "Test and copy loss damage as (L - L0) / (Lctx - L0), prefix matching as (P0 - P) / P0; the paper's claim is copy and prefix lines above the test line in a middle band of E."},
				[]viz.Series{{Name: "test loss", X: tx, Y: ty}, {Name: "copy loss", X: cx, Y: cy}, {Name: "prefix matching", X: px, Y: py}},
				viz.LogX(), viz.HLine(0, "no damage")))
			peaks = append(peaks, damagePeak(f, tx, ty, cx, cy, px, py))
		}
		r.Section("", fmt.Sprintf("Damage peak, %s (mean over seeds):\n\n%s", g.name(), strings.Join(peaks, "\n\n")))
		if len(notes) > 0 {
			r.Section("", strings.Join(notes, "\n\n"))
		}
	}
}

// damagePeak names the E of the largest relative copy damage for one f, with the test and
// prefix-matching damages at the same E for comparison.
func damagePeak(f float64, tx, ty, cx, cy, px, py []float64) string {
	if len(cx) == 0 {
		return fmt.Sprintf("%s: no copy damage could be computed.", fLabel(f))
	}
	best := 0
	for i := range cy {
		if cy[i] > cy[best] {
			best = i
		}
	}
	e := cx[best]
	at := func(x, y []float64) string {
		if i := slices.Index(x, e); i >= 0 {
			return fmt.Sprintf("%.3f", y[i])
		}
		return "not available"
	}
	return fmt.Sprintf("%s: the relative copy damage peaks at E = %g (%.3f); there the test damage is %s and the prefix-matching damage %s.",
		fLabel(f), e, cy[best], at(tx, ty), at(px, py))
}

// effective draws the f = 0 size families and the effective size of the runs with f > 0.
func (s *repStudy) effective(r *viz.Report) {
	a := s.a
	r.Section("Effective model size", "Hernandez et al. 2022 express damage as effective model size: the non-embedding size of an f = 0 model "+
		"of the same architecture (and seed) that reaches the same final test loss, read off the f = 0 size family by interpolating in log size. "+
		"The family curves come first (log size axis; dashed lines mark the sizes trained with f > 0).")
	if len(a.Families) == 0 {
		r.Section("", "The study has no f = 0 size family (one size per architecture, or no f = 0 runs), so effective size cannot be read.")
	}
	var arches []string
	for _, fam := range a.Families {
		if !slices.Contains(arches, fam.Arch) {
			arches = append(arches, fam.Arch)
		}
	}
	for _, arch := range arches {
		var series []viz.Series
		for _, fam := range a.Families {
			if fam.Arch != arch {
				continue
			}
			order := make([]int, len(fam.Params))
			for i := range order {
				order[i] = i
			}
			slices.SortStableFunc(order, func(i, j int) int { return fam.Params[i] - fam.Params[j] })
			x, tl, cl, names := make([]float64, len(order)), make([]float64, len(order)), make([]float64, len(order)), make([]string, len(order))
			for k, i := range order {
				x[k], tl[k], cl[k], names[k] = float64(fam.Params[i]), fam.TestLoss[i], fam.CopyLoss[i], fam.Sizes[i]
			}
			series = append(series,
				viz.Series{Name: fmt.Sprintf("test loss, seed %d", fam.Seed), X: x, Y: tl, Labels: names},
				viz.Series{Name: fmt.Sprintf("copy loss, seed %d", fam.Seed), X: x, Y: cl, Labels: names})
		}
		opts := []viz.Option{viz.LogX()}
		for _, g := range s.damaged() {
			if g.arch == arch && g.params > 0 {
				opts = append(opts, viz.VLine(float64(g.params), "size "+g.size))
			}
		}
		r.Add(viz.Lines(viz.Spec{Title: "f = 0 size family: " + arch, X: "non-embedding parameters", Y: "final loss (nats)",
			Caption: "Final test and copy loss of the f = 0 runs against size; a run with f > 0 has the effective size at which its loss meets this curve."},
			series, opts...))
	}
	for _, g := range s.damaged() {
		var series []viz.Series
		nils := 0
		for _, f := range g.fracs {
			x, y, m := byEpochs(g.byF[f], func(sm *repeated.Summary) *float64 { return sm.EffectiveShare })
			nils += m
			if len(x) > 0 {
				series = append(series, viz.Series{Name: fLabel(f), X: x, Y: y})
			}
		}
		if len(series) == 0 {
			r.Section("", fmt.Sprintf("%s: no run with f > 0 has an effective size (every final test loss lies outside the family's range, or there is no family).", g.name()))
			continue
		}
		r.Add(viz.Lines(viz.Spec{Title: "Effective size: " + g.name(), X: "epochs E", Y: "effective size / actual size",
			Caption: "One line per f, mean over seeds; 1 means no damage, 0.5 means the run is worth an f = 0 model half its size."},
			series, viz.LogX(), viz.HLine(1, "no damage")))
		if nils > 0 {
			r.Section("", fmt.Sprintf("%s: %d run(s) with f > 0 have no effective size (nil): their final test loss lies outside the family's range "+
				"(worse than its smallest model or better than its largest), so they are not drawn.", g.name(), nils))
		}
	}
}

// runLabel names a run in a legend: its E and seed, or "f = 0" and seed for a baseline.
func runLabel(sm *repeated.Summary) string {
	if sm.Final.Fraction == 0 {
		return fmt.Sprintf("f = 0, seed %d", sm.Final.Seed)
	}
	return fmt.Sprintf("E = %d, seed %d", sm.Final.Epochs, sm.Final.Seed)
}

// overSteps is one series per run: get of each row over step, step 0 left out (log axis).
func (s *repStudy) overSteps(runs []*repeated.Summary, get func(repeated.Row) float64) []viz.Series {
	var out []viz.Series
	for _, sm := range runs {
		var x, y []float64
		for _, row := range s.rows[sm.Run] {
			if row.Step > 0 {
				x, y = append(x, float64(row.Step)), append(y, get(row))
			}
		}
		if len(x) > 0 {
			out = append(out, viz.Series{Name: runLabel(sm), X: x, Y: y})
		}
	}
	return out
}

// byEpochsSeed orders runs by E, then seed.
func byEpochsSeed(runs []*repeated.Summary) []*repeated.Summary {
	out := slices.Clone(runs)
	slices.SortStableFunc(out, func(x, y *repeated.Summary) int {
		if x.Final.Epochs != y.Final.Epochs {
			return x.Final.Epochs - y.Final.Epochs
		}
		switch {
		case x.Final.Seed < y.Final.Seed:
			return -1
		case x.Final.Seed > y.Final.Seed:
			return 1
		}
		return 0
	})
	return out
}

// training draws PrefixMax over training per group and f, and tables every run's fate.
func (s *repStudy) training(r *viz.Report) {
	a := s.a
	r.Section("Induction heads over training", fmt.Sprintf("The largest prefix-matching score of any head at each checkpoint (log step axis; step 0 is not drawn), "+
		"one line per run, with the f = 0 baselines of the same architecture and size. The dashed line is the formation threshold %g. "+
		"Hernandez et al. 2022 (section 5) find repeated data delays or prevents induction-head formation, and in attention-only models the induction head can be "+
		"replaced by skip-trigram heads: a run's fate is formed, delayed (formed later than %g × its baseline), collapsed (formed, then gone), "+
		"replaced (the first heads gone, others above the threshold) or never.", a.Threshold, a.DelayFactor))
	pm := func(row repeated.Row) float64 { return row.PrefixMax }
	for _, g := range s.groups {
		if len(g.fracs) == 0 {
			series := s.overSteps(byEpochsSeed(g.base), pm)
			if len(series) > 0 {
				r.Add(viz.Lines(viz.Spec{Title: "Prefix matching over training: " + g.name() + ", f = 0", X: "step", Y: "largest prefix-matching score",
					Caption: "The f = 0 runs of this size: induction heads form where the line crosses the threshold."},
					series, viz.LogX(), viz.HLine(a.Threshold, "threshold")))
			}
			continue
		}
		for _, f := range g.fracs {
			runs := append(byEpochsSeed(g.base), byEpochsSeed(g.byF[f])...)
			series := s.overSteps(runs, pm)
			if len(series) == 0 {
				continue
			}
			r.Add(viz.Lines(viz.Spec{Title: fmt.Sprintf("Prefix matching over training: %s, %s", g.name(), fLabel(f)), X: "step", Y: "largest prefix-matching score",
				Caption: "One line per run (E and seed) and the f = 0 baselines; a line that crosses the threshold late, or falls back below it, is a delayed or collapsed induction head."},
				series, viz.LogX(), viz.HLine(a.Threshold, "threshold")))
		}
	}
	r.Section("", fateCounts(s))
	r.Raw(runsTable(a))
}

// fateCounts summarises the fates of the runs of each f.
func fateCounts(s *repStudy) string {
	fates := []string{repeated.FateFormed, repeated.FateDelayed, repeated.FateCollapsed, repeated.FateReplaced, repeated.FateNever}
	var lines []string
	for _, f := range append([]float64{0}, s.fracs...) {
		count := map[string]int{}
		n := 0
		for _, sm := range s.a.Runs {
			if sm.Final.Fraction == f {
				count[sm.Fate]++
				n++
			}
		}
		if n == 0 {
			continue
		}
		var parts, other []string
		for _, fate := range fates {
			if count[fate] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", fate, count[fate]))
			}
		}
		for fate, c := range count {
			if !slices.Contains(fates, fate) {
				other = append(other, fmt.Sprintf("%s %d", orDefault(fate, "unknown"), c))
			}
		}
		slices.Sort(other)
		parts = append(parts, other...)
		lines = append(lines, fmt.Sprintf("Fates at %s (%d runs): %s.", fLabel(f), n, strings.Join(parts, ", ")))
	}
	return strings.Join(lines, "\n\n")
}

// stepText writes a checkpoint step, or "never" for -1.
func stepText(step int) string {
	if step < 0 {
		return "never"
	}
	return strconv.Itoa(step)
}

// runsTable is every run's outcome as an HTML table, in grid order.
func runsTable(a *repeated.Analysis) template.HTML {
	var b strings.Builder
	cell := `style="padding:2px 6px;border:1px solid #ddd"`
	b.WriteString(`<div style="overflow-x:auto;margin:0 0 1em 0"><table class="mi-runs" style="border-collapse:collapse;font-size:.85em"><tr>`)
	for _, h := range []string{"run", "f", "E", "arch", "size", "seed", "fate", "formation (baseline)", "memorized", "test loss", "copy loss", "effective size", "complete"} {
		fmt.Fprintf(&b, `<th %s>%s</th>`, cell, h)
	}
	b.WriteString("</tr>")
	for _, sm := range a.Runs {
		fin := sm.Final
		eff := "—"
		if sm.EffectiveShare != nil {
			eff = fmt.Sprintf("%.2f×", *sm.EffectiveShare)
		}
		complete := "yes"
		if !sm.Complete {
			complete = fmt.Sprintf("no (step %d)", fin.Step)
		}
		form, epochs := stepText(sm.Formation), "—"
		if fin.Fraction != 0 {
			epochs = strconv.Itoa(fin.Epochs)
			if sm.Baseline == "" {
				form += " (no baseline)"
			} else {
				form += " (" + stepText(sm.BaselineFormation) + ")"
			}
		}
		b.WriteString("<tr>")
		for _, v := range []string{sm.Run, g3(fin.Fraction), epochs, fin.Arch, fin.Size, strconv.FormatUint(fin.Seed, 10), sm.Fate,
			form, stepText(sm.MemorizedStep), fmt.Sprintf("%.3f", fin.TestLoss), fmt.Sprintf("%.3f", fin.CopyLoss), eff, complete} {
			fmt.Fprintf(&b, `<td %s>%s</td>`, cell, html.EscapeString(v))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table></div>")
	return template.HTML(b.String())
}

// descent draws the test loss of the largest f over training, with each run's memorization
// step, and lists the runs whose test loss rose and fell again.
func (s *repStudy) descent(r *viz.Report) {
	a := s.a
	r.Section("Double descent", fmt.Sprintf("At large f, Hernandez et al. 2022 see test loss rise midway through training and fall again (double descent), "+
		"around the point where the repeated subset is memorized (its loss at most %g nats). The charts show the test loss of the largest f over training "+
		"(log step axis), one line per run with the f = 0 baselines; dashed vertical lines mark the step at which each run memorized its subset.", a.MemorizedLoss))
	if len(s.fracs) > 0 {
		top := s.fracs[len(s.fracs)-1]
		for _, g := range s.groups {
			runs := byEpochsSeed(g.byF[top])
			if len(runs) == 0 {
				continue
			}
			// One mark per step, naming every E memorized there: runs that memorize at the same
			// checkpoint would otherwise draw their labels over each other.
			var marks []int
			at := map[int][]string{}
			for _, sm := range runs {
				if m := sm.MemorizedStep; m > 0 {
					if at[m] == nil {
						marks = append(marks, m)
					}
					if e := strconv.Itoa(sm.Final.Epochs); !slices.Contains(at[m], e) {
						at[m] = append(at[m], e)
					}
				}
			}
			slices.Sort(marks)
			var opts []viz.Option
			for _, m := range marks {
				opts = append(opts, viz.VLine(float64(m), "E = "+strings.Join(at[m], ", ")))
			}
			series := s.overSteps(append(byEpochsSeed(g.base), runs...), func(row repeated.Row) float64 { return row.TestLoss })
			if len(series) == 0 {
				continue
			}
			r.Add(viz.Lines(viz.Spec{Title: fmt.Sprintf("Test loss over training: %s, %s", g.name(), fLabel(top)), X: "step", Y: "test loss (nats)",
				Caption: "One line per run (E and seed); a line that falls, rises after its subset is memorized (dashed, labelled with E) and falls again shows double descent."},
				series, append(opts, viz.LogX())...))
		}
	}
	var lines []string
	for _, sm := range a.Runs {
		if sm.DoubleDescent {
			lines = append(lines, fmt.Sprintf("%s (%s %s, %s, E = %d, seed %d): test loss rises by %.3f nats from step %d to step %d (subset memorized at step %s).",
				sm.Run, sm.Final.Arch, sm.Final.Size, fLabel(sm.Final.Fraction), sm.Final.Epochs, sm.Final.Seed, sm.DescentRise, sm.DescentStart, sm.PeakTestStep, stepText(sm.MemorizedStep)))
		}
	}
	if len(lines) == 0 {
		r.Section("", fmt.Sprintf("No run's test loss rises by more than %g nats above its running minimum: no double descent.", a.DescentRise))
		return
	}
	r.Section("", fmt.Sprintf("Runs with double descent (test loss rising more than %g nats above its running minimum):\n\n%s", a.DescentRise, strings.Join(lines, "\n\n")))
}
