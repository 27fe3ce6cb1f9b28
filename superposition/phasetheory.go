package superposition

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// TheoryLosses is the "toy model of the toy model" of Elhage et al. 2022, Toy
// Models of Superposition ("Superposition as a Phase Change"): instead of
// training, it compares the expected loss of a few natural weight
// configurations of a ReLU-output model and predicts the phase of the
// cheapest. For 2 features in 1 dimension the configurations are W = [1,0]
// (the extra feature not represented), W = [0,1] (it takes the dimension; the
// other feature is dropped) and W = [1,-1] (an antipodal pair:
// superposition). For 3 features in 2 dimensions they are, in the paper's
// words, "which direction W ignores": W ⊥ [0,0,1] (not represented),
// W ⊥ [1,0,0] (dedicated; one other feature dropped), W ⊥ [0,1,1] (the extra
// feature in an antipodal pair with another: superposition) and W ⊥ [1,1,0]
// (the two others in an antipodal pair, the extra feature dedicated); like the
// paper we leave out W ⊥ [1,1,1].
//
// The losses are exact expectations over the data of the experiments (each
// feature 0 with probability 1-p, else uniform on [0,1]), with unit-norm
// columns and every output bias at its optimum:
//
//	dropped feature, output the constant ReLU(b):  V(p) = min_b E[(x-b)^2] = p/3 - p^2/4
//	dedicated feature, ReLU(x):                     0
//	antipodal pair, x'_1 = ReLU(x_1 - x_2 + b):     F(p) = min_b f_p(b) per unit of importance
//
// with, for b >= 0,
//
//	f_p(b) = (1-p)^2 b^2 + p(1-p)(b^2 + b^3/3) + p^2 (b^3/3 + (1-b)^3/3 - (1-b)^4/6)
//
// and, for b = -c <= 0,
//
//	f_p(b) = p(1-p)(c^2 - 2c^3/3) + p^2 (1/6 + c/3 - c^3/3 + c^4/6).
//
// (Each term is one case of which of the two features is active; the paper
// gives its closed forms in a notebook; these are derived here from the
// model's definition and checked against sampled data in the tests.)
//
// It returns the expected loss of each configuration for features -> hidden
// (2 -> 1 or 3 -> 2), the extra feature's relative importance and the
// density shared by every feature.

// TheoryConfigLoss is the expected loss of one configuration of TheoryLosses.
type TheoryConfigLoss struct {
	// Name says what W ignores, as the paper writes it (e.g. "W ⊥ [0,0,1]").
	Name string `json:"name"`
	// Phase is the extra feature's phase in this configuration.
	Phase string  `json:"phase"`
	Loss  float64 `json:"loss"`
}

// DroppedLoss returns V(p) = p/3 - p^2/4, the expected squared error of a
// feature of density p that the model drops and replaces by its mean (the
// optimal output bias).
func DroppedLoss(p float64) float64 { return p/3 - p*p/4 }

// antipodalLoss is f_p(b), the expected squared error of one member of an
// antipodal pair with output bias b (see TheoryLosses).
func antipodalLoss(p, b float64) float64 {
	q := 1 - p
	if b >= 0 {
		r := 1 - b
		return q*q*b*b + p*q*(b*b+b*b*b/3) + p*p*(b*b*b/3+r*r*r/3-r*r*r*r/6)
	}
	c := -b
	return p*q*(c*c-2*c*c*c/3) + p*p*(1.0/6+c/3-c*c*c/3+c*c*c*c/6)
}

// AntipodalLoss returns F(p) = min_b f_p(b), the expected squared error per
// unit of importance of each member of an antipodal pair of features of
// density p, and the optimal bias b (see TheoryLosses).
func AntipodalLoss(p float64) (loss, bias float64) {
	// f_p is a piecewise polynomial on [-1, 1]: a grid finds the basin, golden
	// section refines it.
	const grid = 400
	best, bi := math.Inf(1), 0.0
	for k := 0; k <= grid; k++ {
		b := -1 + 2*float64(k)/grid
		if v := antipodalLoss(p, b); v < best {
			best, bi = v, b
		}
	}
	lo, hi := max(bi-2.0/grid, -1), min(bi+2.0/grid, 1)
	g := (math.Sqrt(5) - 1) / 2
	for range 100 {
		m1, m2 := hi-g*(hi-lo), lo+g*(hi-lo)
		if antipodalLoss(p, m1) < antipodalLoss(p, m2) {
			hi = m2
		} else {
			lo = m1
		}
	}
	b := (lo + hi) / 2
	return antipodalLoss(p, b), b
}

func TheoryLosses(features, hidden int, importance, density float64) ([]TheoryConfigLoss, error) {
	if density <= 0 || density > 1 || importance <= 0 || math.IsNaN(density) || math.IsNaN(importance) {
		return nil, fmt.Errorf("phase theory: density %v must be in (0,1] and importance %v positive", density, importance)
	}
	v := DroppedLoss(density)
	f, _ := AntipodalLoss(density)
	switch {
	case features == 2 && hidden == 1:
		return []TheoryConfigLoss{
			{"W = [1,0]", PhaseNotRepresented, importance * v},
			{"W = [0,1]", PhaseDedicated, v},
			{"W = [1,-1]", PhaseSuperposition, (1 + importance) * f},
		}, nil
	case features == 3 && hidden == 2:
		return []TheoryConfigLoss{
			{"W ⊥ [0,0,1]", PhaseNotRepresented, importance * v},
			{"W ⊥ [1,0,0]", PhaseDedicated, v},
			{"W ⊥ [0,1,1]", PhaseSuperposition, (1 + importance) * f},
			{"W ⊥ [1,1,0]", PhaseDedicated, 2 * f},
		}, nil
	}
	return nil, fmt.Errorf("phase theory: only 2 -> 1 and 3 -> 2 (Elhage et al. 2022), not %d -> %d", features, hidden)
}

// TheoryPhase returns the phases of the extra feature in the cheapest
// configurations of TheoryLosses: one, or several when configurations tie
// (at relative importance 1 the extra feature is interchangeable with the
// others, so dense 2 -> 1 ties "not represented" with "dedicated").
func TheoryPhase(features, hidden int, importance, density float64) ([]string, error) {
	ls, err := TheoryLosses(features, hidden, importance, density)
	if err != nil {
		return nil, err
	}
	best := math.Inf(1)
	for _, l := range ls {
		best = min(best, l.Loss)
	}
	var out []string
	for _, l := range ls {
		if l.Loss <= best*(1+1e-9) && !slices.Contains(out, l.Phase) {
			out = append(out, l.Phase)
		}
	}
	return out, nil
}

// phaseCode is a phase as the heatmaps' 0/1/2.
func phaseCode(p string) int {
	return map[string]int{PhaseNotRepresented: 0, PhaseDedicated: 1, PhaseSuperposition: 2}[p]
}

// CompareTheory fills res.Theory, res.TheoryCode, res.Matches and
// res.Agreement: the phases TheoryPhase predicts for each cell (tied phases
// joined by " or "; TheoryCode holds the first), and the fraction of cells
// whose measured phase is one of them. It is an error for a shape
// TheoryLosses does not cover.
func CompareTheory(res *PhaseResult) error {
	res.Theory, res.TheoryCode, res.Matches = nil, nil, 0
	for a, p := range res.Densities {
		if a >= len(res.Phase) || len(res.Phase[a]) != len(res.Importances) {
			return fmt.Errorf("phase theory: row %d of the measured phases does not match %d importances", a, len(res.Importances))
		}
		var ph []string
		var code []int
		for b, r := range res.Importances {
			t, err := TheoryPhase(res.Features, res.Hidden, r, p)
			if err != nil {
				return err
			}
			ph, code = append(ph, strings.Join(t, TheoryTie)), append(code, phaseCode(t[0]))
			if slices.Contains(t, res.Phase[a][b]) {
				res.Matches++
			}
		}
		res.Theory, res.TheoryCode = append(res.Theory, ph), append(res.TheoryCode, code)
	}
	res.Agreement = float64(res.Matches) / float64(len(res.Densities)*len(res.Importances))
	return nil
}

// TheoryTie joins the phases of tied configurations in PhaseResult.Theory.
const TheoryTie = " or "
