package superposition

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// The claims of Elhage et al. 2022 listed in docs/REFERENCE.md, at CI scale.

// skipShort skips a claim that trains for seconds under go test -short,
// which is for quick iterations: the full run (CI's) checks every claim.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains toy models for seconds; run without -short")
	}
}

func TestClaimLinearKeepsTopFeatures(t *testing.T) {
	n, m := 8, 3
	for _, p := range []float64{1, 0.1} {
		res, err := Train(context.Background(), Config{Kind: Linear, Features: n, Hidden: m, Steps: 10000, Snapshots: []int{}},
			[]Instance{{Data: Distribution{Density: UniformDensity(n, p)}, Importance: GeometricImportance(n, 0.7), Seed: 1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		W := res.Instances[0].Final.W
		norms := FeatureNorms(W)
		for i, nv := range norms {
			if i < m && math.Abs(nv-1) > 0.05 || i >= m && nv > 0.05 {
				t.Errorf("1-S=%v: ||W_%d|| = %.3f (want 1 for the %d most important, else 0)", p, i, nv, m)
			}
		}
		for i := 0; i < m; i++ {
			for j := i + 1; j < m; j++ {
				if c := tensor.Dot64(W[i], W[j]); math.Abs(c) > 0.05 {
					t.Errorf("1-S=%v: W_%d . W_%d = %.3f, want orthogonal", p, i, j, c)
				}
			}
		}
	}
}

func TestClaimPentagon(t *testing.T) {
	skipShort(t)
	cfg := Config{Kind: ReLUOutput, Features: 5, Hidden: 2, Steps: 8000, Snapshots: []int{}}
	res, err := SparsitySweep(context.Background(), cfg, GeometricImportance(5, 0.9), []float64{1, 0.3, 0.1, 0.05}, 8, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j, want := range []string{"dedicated dimension x2, not represented x3", "antipodal pair x2", "pentagon x1", "pentagon x1"} {
		pt := res.Points[j]
		got := pt.Best.Geometry.Summary
		if !strings.HasPrefix(got, want) {
			t.Errorf("1-S=%v: geometry %q, want %q", pt.Density, got, want)
		}
		t.Logf("1-S=%v: %s, D_i %.3f, angles %.1f", pt.Density, got, pt.Best.Dimensionality, pt.Best.Angles)
		if want == "pentagon x1" {
			for _, a := range pt.Best.Angles {
				if math.Abs(a-72) > 6 {
					t.Errorf("1-S=%v: adjacent angle %.1f, want ~72", pt.Density, a)
				}
			}
			for i, d := range pt.Best.Dimensionality {
				if math.Abs(d-0.4) > 0.04 {
					t.Errorf("1-S=%v: D_%d = %.3f, want ~0.4", pt.Density, i, d)
				}
			}
		}
	}
}

func TestClaimDStarPlateau(t *testing.T) {
	skipShort(t)
	// CI scale: 40 features of equal importance into 8 dimensions. The full
	// run is `mechinterp superposition dimensionality` (200 -> 20).
	cfg := Config{Kind: ReLUOutput, Features: 40, Hidden: 8, Steps: 3000, Snapshots: []int{}}
	dens := []float64{1, 0.5, 0.4, 0.3, 0.2, 0.1, 0.03}
	res, err := SparsitySweep(context.Background(), cfg, GeometricImportance(40, 1), dens, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ds []float64
	for _, pt := range res.Points {
		ds = append(ds, pt.Best.DStar)
	}
	t.Logf("D* at 1-S=%v: %.3f", dens, ds)
	if math.Abs(ds[0]-1) > 0.1 {
		t.Errorf("dense D* = %.3f, want 1", ds[0])
	}
	for j := 1; j < len(ds); j++ {
		if ds[j] > ds[j-1]+0.03 {
			t.Errorf("D* rose from %.3f to %.3f as sparsity grew", ds[j-1], ds[j])
		}
	}
	// The plateau: D* stays near 1/2 (antipodal pairs) over a range of
	// densities (1-S = 0.5, 0.4, 0.3) before falling further.
	for j := 1; j <= 3; j++ {
		if ds[j] > 0.6 || ds[j] < 0.4 {
			t.Errorf("D* at 1-S=%g = %.3f, want the 1/2 plateau", dens[j], ds[j])
		}
	}
	if ds[4] > 0.4 {
		t.Errorf("D* at 1-S=%g = %.3f, want below the plateau", dens[4], ds[4])
	}
	if ds[len(ds)-1] > 0.5 {
		t.Errorf("sparsest D* = %.3f, want <= 1/2", ds[len(ds)-1])
	}
}

func TestClaimSAERecoversFeatures(t *testing.T) {
	cfg := ExperimentConfig{Model: ReLUOutput, Features: 8, Hidden: 4, Steps: 5000, ImportanceRatio: 1, Densities: []float64{0.05}, Seeds: 3,
		SAEL1: []float64{0.03}, SAEDictSizes: []int{16}, SAESteps: 4000, SAERows: 20000}
	res, err := RunExperiment(context.Background(), "sae", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SAE.TrueFeatures) != 8 {
		t.Fatalf("toy model represents %d of 8 features (%s)", len(res.SAE.TrueFeatures), res.SAE.Toy.Geometry.Summary)
	}
	r := res.SAE.Runs[0]
	t.Logf("MMCS %.3f L0 %.2f FVE %.3f dead %d", r.MMCS, r.L0, r.FVE, r.Dead)
	if r.MMCS < 0.95 {
		t.Errorf("MMCS %.3f, want >= 0.95", r.MMCS)
	}
	if r.FVE < 0.9 {
		t.Errorf("FVE %.3f, want >= 0.9", r.FVE)
	}
}

func TestClaimPhaseDiagram(t *testing.T) {
	// 2 features into 1 dimension: a weak dense extra feature is dropped, a
	// strong dense one takes the dimension, and sparse features of equal
	// importance share it in superposition.
	pc := PhaseConfig{Features: 2, Hidden: 1, Importances: []float64{0.1, 1, 10}, Densities: []float64{1, 0.03}, Seeds: 3,
		Train: Config{Steps: 3000}}
	res, err := PhaseDiagram(context.Background(), pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("phases %v", res.Phase)
	for _, c := range []struct {
		d, i int
		want string
	}{{0, 0, PhaseNotRepresented}, {0, 2, PhaseDedicated}, {1, 1, PhaseSuperposition}} {
		if got := res.Phase[c.d][c.i]; got != c.want {
			t.Errorf("1-S=%v importance %v: %s, want %s", res.Densities[c.d], res.Importances[c.i], got, c.want)
		}
	}
	// Every cell agrees with the paper's theoretical model (TheoryLosses).
	t.Logf("theory %v: %d of 6 cells agree", res.Theory, res.Matches)
	if res.Matches != 6 || res.Agreement != 1 {
		t.Errorf("measured phases agree with the theory in %d of 6 cells (%v), want all", res.Matches, res.Agreement)
	}
}

func TestClaimNeuronsPolysemantic(t *testing.T) {
	skipShort(t)
	cfg := ExperimentConfig{Model: ReLUHidden, Features: 10, Hidden: 5, Steps: 10000, ImportanceRatio: 0.75, Densities: []float64{1, 0.03}, Seeds: 2}
	res, err := RunExperiment(context.Background(), "neurons", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dense, sparse := res.Instances[0].Neurons, res.Instances[1].Neurons
	t.Logf("polysemantic neurons: dense %d (monosemanticity %.2f), sparse %d (%.2f)", dense.Polysemantic, dense.Monosemanticity, sparse.Polysemantic, sparse.Monosemanticity)
	if dense.Polysemantic > 1 || sparse.Polysemantic <= dense.Polysemantic {
		t.Errorf("polysemantic neurons dense %d, sparse %d: want few when dense, more when sparse", dense.Polysemantic, sparse.Polysemantic)
	}
}

// Elhage et al. 2022, "Correlated and Anticorrelated Features": with 4
// sparse features in 2 dimensions, the members of a correlated pair are
// kept orthogonal, those of an anticorrelated pair antipodal.
func TestClaimCorrelatedOrthogonalAnticorrelatedAntipodal(t *testing.T) {
	skipShort(t)
	cfg := ExperimentConfig{Model: ReLUOutput, Features: 4, Hidden: 2, Steps: 10000, ImportanceRatio: 1,
		Densities: []float64{0.05}, Seeds: 5, Correlated: [][]int{{0, 1}, {2, 3}}, Anticorrelated: [][]int{{0, 1}, {2, 3}}}
	res, err := RunExperiment(context.Background(), "correlated", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, inst := range res.Instances {
		t.Logf("%s: within-set cosines %.3f (%s)", inst.Label, res.SetCosines[i], inst.Geometry.Summary)
	}
	for _, c := range res.SetCosines[0] { // correlated sets
		if math.Abs(c) > 0.15 {
			t.Errorf("correlated pair has cosine %.3f, want orthogonal (0)", c)
		}
	}
	for _, c := range res.SetCosines[1] { // anticorrelated sets
		if c > -0.9 {
			t.Errorf("anticorrelated pair has cosine %.3f, want antipodal (-1)", c)
		}
	}
}
