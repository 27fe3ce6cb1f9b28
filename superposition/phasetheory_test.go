package superposition

import (
	"math"
	"slices"
	"testing"
)

// The closed-form losses of TheoryLosses against the model's own Loss on
// sampled data: each configuration's weights and optimal biases are built
// explicitly and evaluated on 200,000 inputs.
func TestTheoryLossesMatchSampledLoss(t *testing.T) {
	const rows = 200000
	for _, tc := range []struct {
		features, hidden int
		importance       float64
		density          float64
	}{
		{2, 1, 0.3, 1}, {2, 1, 3, 0.3}, {2, 1, 1, 0.05},
		{3, 2, 0.5, 0.56}, {3, 2, 4, 0.1},
	} {
		ls, err := TheoryLosses(tc.features, tc.hidden, tc.importance, tc.density)
		if err != nil {
			t.Fatal(err)
		}
		p := tc.density
		_, b := AntipodalLoss(p)
		// Per configuration: W (rows = features) and the output biases.
		var ws []Weights
		if tc.features == 2 {
			ws = []Weights{
				{W: [][]float64{{1}, {0}}, B: []float64{0, p / 2}},
				{W: [][]float64{{0}, {1}}, B: []float64{p / 2, 0}},
				{W: [][]float64{{1}, {-1}}, B: []float64{b, b}},
			}
		} else {
			ws = []Weights{
				{W: [][]float64{{1, 0}, {0, 1}, {0, 0}}, B: []float64{0, 0, p / 2}},
				{W: [][]float64{{0, 0}, {1, 0}, {0, 1}}, B: []float64{p / 2, 0, 0}},
				{W: [][]float64{{1, 0}, {0, 1}, {0, -1}}, B: []float64{0, b, b}},
				{W: [][]float64{{1, 0}, {-1, 0}, {0, 1}}, B: []float64{b, b, 0}},
			}
		}
		imp := UniformDensity(tc.features, 1)
		imp[tc.features-1] = tc.importance
		d := Distribution{Density: UniformDensity(tc.features, p)}
		batch, err := d.Sample(rows, 7)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range ws {
			got := Loss(ReLUOutput, w, imp, batch)
			// The per-row loss is bounded by sum_i I_i, so its standard error
			// is at most that over sqrt(rows).
			tol := 4 * (1 + tc.importance) / math.Sqrt(rows) * math.Sqrt(p)
			if math.Abs(got-ls[k].Loss) > tol {
				t.Errorf("%d->%d I=%v 1-S=%v %s: sampled loss %.5f, closed form %.5f (tolerance %.5f)",
					tc.features, tc.hidden, tc.importance, p, ls[k].Name, got, ls[k].Loss, tol)
			}
		}
	}
}

// The optimal antipodal bias is a minimum: moving it either way costs loss.
func TestAntipodalLossIsMinimum(t *testing.T) {
	for _, p := range []float64{1, 0.5, 0.1, 0.01} {
		f, b := AntipodalLoss(p)
		for _, db := range []float64{-0.01, 0.01} {
			if v := antipodalLoss(p, b+db); v < f {
				t.Errorf("1-S=%v: f(%.4f) = %.6g below the minimum %.6g at b = %.4f", p, b+db, v, f, b)
			}
		}
	}
}

func TestTheoryPhaseCorners(t *testing.T) {
	for _, tc := range []struct {
		features, hidden int
		importance       float64
		density          float64
		want             []string
	}{
		{2, 1, 0.1, 1, []string{PhaseNotRepresented}},               // weak and dense: dropped
		{2, 1, 10, 1, []string{PhaseDedicated}},                     // strong and dense: takes the dimension
		{2, 1, 1, 1, []string{PhaseNotRepresented, PhaseDedicated}}, // interchangeable: a tie
		{2, 1, 1, 0.01, []string{PhaseSuperposition}},               // sparse: antipodal pair
		{3, 2, 10, 0.01, []string{PhaseDedicated}},                  // the two others pair up
		{3, 2, 0.3, 0.01, []string{PhaseSuperposition}},             // weak extra pairs with another
		{3, 2, 0.1, 1, []string{PhaseNotRepresented}},               // dense: dropped
	} {
		got, err := TheoryPhase(tc.features, tc.hidden, tc.importance, tc.density)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d->%d I=%v 1-S=%v: %v, want %v", tc.features, tc.hidden, tc.importance, tc.density, got, tc.want)
		}
	}
	if _, err := TheoryPhase(4, 2, 1, 0.1); err == nil {
		t.Error("4 -> 2: no error")
	}
	if _, err := TheoryPhase(2, 1, 1, 0); err == nil {
		t.Error("density 0: no error")
	}
}

func TestCompareTheoryCounts(t *testing.T) {
	res := &PhaseResult{Features: 2, Hidden: 1, Importances: []float64{0.1, 1, 10}, Densities: []float64{1, 0.01},
		Phase: [][]string{
			{PhaseNotRepresented, PhaseDedicated, PhaseSuperposition}, // the last disagrees
			{PhaseSuperposition, PhaseSuperposition, PhaseDedicated},  // the last disagrees
		}}
	if err := CompareTheory(res); err != nil {
		t.Fatal(err)
	}
	if res.Matches != 4 || math.Abs(res.Agreement-4.0/6) > 1e-12 {
		t.Errorf("matches %d, agreement %v; want 4 of 6", res.Matches, res.Agreement)
	}
	if res.Theory[0][1] != PhaseNotRepresented+TheoryTie+PhaseDedicated || res.TheoryCode[1][2] != 2 {
		t.Errorf("theory %v, codes %v", res.Theory, res.TheoryCode)
	}
	res.Phase = res.Phase[:1]
	if err := CompareTheory(res); err == nil {
		t.Error("a missing row: no error")
	}
}
