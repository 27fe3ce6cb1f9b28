package repeated

import (
	"math"
	"slices"
	"sort"

	"github.com/mechinterp/mechinterp/internal/stats"
	"github.com/mechinterp/mechinterp/probes"
)

// Analyze turns a study's rows (any subset of its runs, in any order) into
// the paper's quantities: per run the damage against its f = 0 baseline,
// the effective model size read off the f = 0 size family, the fate of its
// induction heads, the step at which it memorized the repeated subset and
// whether its test loss went through double descent (Hernandez et al.
// 2022, sections 3-5).
func Analyze(s Study, rows []Row) *Analysis {
	s = s.WithDefaults()
	th := s.Analysis
	a := &Analysis{Study: s.Name, Threshold: th.Induction, DelayFactor: th.DelayFactor,
		MemorizedLoss: th.MemorizedLoss, DescentRise: th.DescentRise}
	planned := s.Runs()
	a.Planned = len(planned)
	rank := map[string]int{}
	for i, r := range planned {
		rank[r.ID] = i
	}
	byRun := map[string][]Row{}
	var ids []string
	for _, r := range rows {
		if _, ok := byRun[r.Run]; !ok {
			ids = append(ids, r.Run)
		}
		byRun[r.Run] = append(byRun[r.Run], r)
	}
	// Grid order first, then runs the grid no longer names, by ID.
	sort.SliceStable(ids, func(i, j int) bool {
		ri, iok := rank[ids[i]]
		rj, jok := rank[ids[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return ids[i] < ids[j]
	})
	for _, r := range planned {
		if _, ok := byRun[r.ID]; !ok {
			a.Missing = append(a.Missing, r.ID)
		}
	}
	sums := map[string]*Summary{}
	var ctxFree []float64
	for _, id := range ids {
		rs := byRun[id]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Step < rs[j].Step })
		a.Rows = append(a.Rows, rs...)
		final := rs[len(rs)-1]
		sm := &Summary{Run: id, Final: final, Complete: final.Step == s.Train.Steps,
			Formation: -1, BaselineFormation: -1, MemorizedStep: -1, DescentStart: -1, PeakTestStep: -1}
		sm.Formation, sm.Fate = fate(rs, th.Induction)
		for _, r := range rs {
			if r.RepeatedLoss != nil && *r.RepeatedLoss <= th.MemorizedLoss {
				sm.MemorizedStep = r.Step
				break
			}
		}
		descent(sm, rs, th.DescentRise)
		sums[id] = sm
		ctxFree = append(ctxFree, final.ContextFreeLoss)
	}
	if len(ctxFree) > 0 {
		a.ContextFreeLoss = stats.Mean(ctxFree)
	}
	a.Families = families(ids, sums)
	for _, id := range ids {
		sm := sums[id]
		f := sm.Final
		base := sums[runID(0, 0, f.Size, f.Arch, f.Seed)]
		// Damage compares the same step of both runs: an unfinished
		// baseline is no baseline for a finished run.
		if base != nil && base != sm && base.Final.Step == f.Step {
			b := base.Final
			sm.Baseline = base.Run
			sm.BaselineFormation = base.Formation
			sm.TestDamage = ptr(f.TestLoss - b.TestLoss)
			sm.CopyDamage = ptr(f.CopyLoss - b.CopyLoss)
			sm.PrefixDamage = ptr(b.PrefixMax - f.PrefixMax)
			sm.TestDamageRel = ratio(f.TestLoss-b.TestLoss, f.ContextFreeLoss-b.TestLoss)
			sm.CopyDamageRel = ratio(f.CopyLoss-b.CopyLoss, f.ContextFreeLoss-b.CopyLoss)
			sm.PrefixDamageRel = ratio(b.PrefixMax-f.PrefixMax, b.PrefixMax)
			if sm.Fate == FateFormed && base.Formation > 0 && float64(sm.Formation) > th.DelayFactor*float64(base.Formation) {
				sm.Fate = FateDelayed
			}
		}
		if fam := familyOf(a.Families, f.Arch, f.Seed); fam != nil {
			sm.EffectiveParams = effectiveSize(fam.Params, fam.TestLoss, f.TestLoss)
			sm.EffectiveCopyParams = effectiveSize(fam.Params, fam.CopyLoss, f.CopyLoss)
			if sm.EffectiveParams != nil && f.Params > 0 {
				sm.EffectiveShare = ptr(*sm.EffectiveParams / float64(f.Params))
			}
		}
		a.Runs = append(a.Runs, *sm)
	}
	return a
}

// fate follows a run's induction heads over its checkpoints: the step from
// which some head's prefix-matching score stays at or above threshold (-1
// if none) and one of the Fate constants (formed or delayed is decided
// against the baseline by the caller).
func fate(rs []Row, threshold float64) (int, string) {
	recs := make([]probes.TrackRecord, len(rs))
	for i, r := range rs {
		recs[i] = probes.TrackRecord{Step: r.Step, HeadMaps: probes.HeadMaps{PrefixMatching: r.PrefixMatching}}
	}
	if len(recs) == 0 || len(recs[0].PrefixMatching) == 0 {
		return -1, FateNever
	}
	// The heads that crossed the threshold first.
	firstStep, first := -1, map[[2]int]bool{}
	for _, r := range rs {
		for l, hs := range r.PrefixMatching {
			for h, v := range hs {
				if v >= threshold {
					first[[2]int{l, h}] = true
				}
			}
		}
		if len(first) > 0 {
			firstStep = r.Step
			break
		}
	}
	if firstStep < 0 {
		return -1, FateNever
	}
	formed := -1
	firstHold := false
	for _, f := range probes.Formations(recs, threshold) {
		if !f.Formed {
			continue
		}
		if formed < 0 || f.Step < formed {
			formed = f.Step
		}
		if first[[2]int{f.Layer, f.Head}] {
			firstHold = true
		}
	}
	switch {
	case formed < 0:
		return -1, FateCollapsed
	case !firstHold:
		return formed, FateReplaced
	}
	return formed, FateFormed
}

// descent finds the largest rise of the test loss above its running minimum
// and calls it double descent when it exceeds rise and the loss later falls
// back by as much.
func descent(sm *Summary, rs []Row, rise float64) {
	if len(rs) < 3 {
		return
	}
	minI, best := 0, 0.0
	for i := 1; i < len(rs); i++ {
		if d := rs[i].TestLoss - rs[minI].TestLoss; d > best {
			best, sm.DescentStart, sm.PeakTestStep = d, rs[minI].Step, rs[i].Step
		}
		if rs[i].TestLoss < rs[minI].TestLoss {
			minI = i
		}
	}
	sm.DescentRise = best
	if best <= rise {
		return
	}
	peak := slices.IndexFunc(rs, func(r Row) bool { return r.Step == sm.PeakTestStep })
	for _, r := range rs[peak+1:] {
		if r.TestLoss <= rs[peak].TestLoss-rise {
			sm.DoubleDescent = true
			return
		}
	}
}

// families gathers the f = 0 runs of each architecture and seed by size,
// where there are two sizes or more: the curves effective size is read from
// (runs that did not finish are left out).
func families(ids []string, sums map[string]*Summary) []Family {
	type key struct {
		arch string
		seed uint64
	}
	var order []key
	by := map[key][]Row{}
	for _, id := range ids {
		sm := sums[id]
		f := sm.Final
		if f.Fraction != 0 || !sm.Complete {
			continue
		}
		k := key{f.Arch, f.Seed}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], f)
	}
	var out []Family
	for _, k := range order {
		rs := by[k]
		if len(rs) < 2 {
			continue // one size is no curve
		}
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Params < rs[j].Params })
		fam := Family{Arch: k.arch, Seed: k.seed}
		for _, r := range rs {
			fam.Sizes = append(fam.Sizes, r.Size)
			fam.Params = append(fam.Params, r.Params)
			fam.TestLoss = append(fam.TestLoss, r.TestLoss)
			fam.CopyLoss = append(fam.CopyLoss, r.CopyLoss)
		}
		out = append(out, fam)
	}
	return out
}

func familyOf(fs []Family, arch string, seed uint64) *Family {
	for i := range fs {
		if fs[i].Arch == arch && fs[i].Seed == seed {
			return &fs[i]
		}
	}
	return nil
}

// effectiveSize is the size at which the family's loss curve (by size)
// reaches loss, interpolating log size linearly between neighbouring sizes:
// the smallest such size, or nil when no size of the family brackets it
// (Hernandez et al. 2022: "the equivalent of a model of size ...").
func effectiveSize(params []int, losses []float64, loss float64) *float64 {
	for i := 0; i+1 < len(params); i++ {
		l0, l1 := losses[i], losses[i+1]
		if l0 == l1 {
			if loss == l0 {
				return ptr(float64(params[i]))
			}
			continue
		}
		if (loss-l0)*(loss-l1) > 0 {
			continue
		}
		t := (loss - l0) / (l1 - l0)
		lp := math.Log(float64(params[i])) + t*(math.Log(float64(params[i+1]))-math.Log(float64(params[i])))
		return ptr(math.Exp(lp))
	}
	return nil
}

func ptr(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// ratio is num/den, or nil when den is not positive (a baseline that learned
// nothing to lose).
func ratio(num, den float64) *float64 {
	if !(den > 1e-9) {
		return nil
	}
	return ptr(num / den)
}
