package superposition

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
)

func polygon(k int, phase float64) [][]float64 {
	W := make([][]float64, k)
	for i := range W {
		a := phase + 2*math.Pi*float64(i)/float64(k)
		W[i] = []float64{math.Cos(a), math.Sin(a)}
	}
	return W
}

func tetrahedron() [][]float64 {
	s := 1 / math.Sqrt(3)
	return [][]float64{{s, s, s}, {s, -s, -s}, {-s, s, -s}, {-s, -s, s}}
}

// squareAntiprism is 8 unit vectors: two squares at heights +-h rotated 45
// degrees, with h chosen so every vertex has equal-length edges.
func squareAntiprism() [][]float64 {
	// For a tight frame of 8 vectors in 3 dims, sum of z^2 = 8/3 so z^2 = 1/3.
	z := 1 / math.Sqrt(3)
	r := math.Sqrt(1 - z*z)
	var W [][]float64
	for i := 0; i < 4; i++ {
		a := math.Pi / 2 * float64(i)
		W = append(W, []float64{r * math.Cos(a), r * math.Sin(a), z})
		b := a + math.Pi/4
		W = append(W, []float64{r * math.Cos(b), r * math.Sin(b), -z})
	}
	return W
}

func TestMetricsKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		W         [][]float64
		wantD     []float64
		wantDStar float64
		wantShape string
	}{
		{"orthogonal", [][]float64{{1, 0}, {0, 1}}, []float64{1, 1}, 1, "dedicated dimension x2"},
		{"antipodal pair", [][]float64{{1}, {-1}}, []float64{0.5, 0.5}, 0.5, "antipodal pair x1"},
		{"triangle", polygon(3, 0.3), []float64{2. / 3, 2. / 3, 2. / 3}, 2. / 3, "triangle x1"},
		{"pentagon", polygon(5, 0.1), []float64{0.4, 0.4, 0.4, 0.4, 0.4}, 0.4, "pentagon x1"},
		{"tetrahedron", tetrahedron(), []float64{0.75, 0.75, 0.75, 0.75}, 0.75, "tetrahedron x1"},
		{"square antiprism", squareAntiprism(), []float64{3. / 8, 3. / 8, 3. / 8, 3. / 8, 3. / 8, 3. / 8, 3. / 8, 3. / 8}, 3. / 8, "square antiprism x1"},
		{"pair + dropped", [][]float64{{0, 1}, {0, -1}, {0.01, 0}}, []float64{0.5, 0.5, 1}, 2 / 2.0001, "antipodal pair x1, not represented x1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			D := Dimensionalities(tc.W)
			for i := range D {
				if math.Abs(D[i]-tc.wantD[i]) > 1e-9 {
					t.Errorf("D_%d = %v, want %v", i, D[i], tc.wantD[i])
				}
			}
			if got := DStar(tc.W); math.Abs(got-tc.wantDStar) > 1e-6 {
				t.Errorf("D* = %v, want %v", got, tc.wantDStar)
			}
			if g := ReadGeometry(tc.W, GeometryOptions{}); g.Summary != tc.wantShape {
				t.Errorf("geometry %q, want %q", g.Summary, tc.wantShape)
			}
			// Vulnerability is 1/sqrt(D_i) for represented features.
			V := Vulnerability(tc.W)
			for i := range V {
				if FeatureNorms(tc.W)[i] > 0.5 && math.Abs(V[i]-1/math.Sqrt(D[i])) > 1e-9 {
					t.Errorf("V_%d = %v, want %v", i, V[i], 1/math.Sqrt(D[i]))
				}
			}
		})
	}
}

func TestInterferenceAndNorms(t *testing.T) {
	W := [][]float64{{2, 0}, {1, 1}, {0, 0}}
	if got, want := FeatureNorms(W), []float64{2, math.Sqrt2, 0}; !close(got, want, 1e-12) {
		t.Errorf("norms %v, want %v", got, want)
	}
	// feature 0: (W0_hat.W1)^2 = 1; feature 1: (W1_hat.W0)^2 = (2/sqrt2)^2 = 2
	if got, want := Interference(W), []float64{1, 2, 0}; !close(got, want, 1e-12) {
		t.Errorf("interference %v, want %v", got, want)
	}
	if got := GramMatrix(W); got[0][1] != 2 || got[1][1] != 2 {
		t.Errorf("W^T W = %v", got)
	}
}

func close(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestWorstPerturbation checks the closed form against random search: no
// unit perturbation beats it, and its own delta attains it.
func TestWorstPerturbation(t *testing.T) {
	r := seed.New(9)
	W := make([][]float64, 6)
	for i := range W {
		W[i] = []float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	}
	for i := range W {
		delta, eff := WorstPerturbation(W, i)
		change := func(d []float64) float64 {
			h := make([]float64, 3)
			for j, dj := range d {
				tensor.Axpy64(dj, W[j], h)
			}
			return math.Abs(tensor.Dot64(W[i], h))
		}
		if math.Abs(change(delta)-eff) > 1e-9 {
			t.Errorf("feature %d: delta gives %v, claimed %v", i, change(delta), eff)
		}
		for trial := 0; trial < 2000; trial++ {
			d := make([]float64, len(W))
			for j := range d {
				d[j] = r.NormFloat64()
			}
			nv := math.Sqrt(tensor.Dot64(d, d))
			for j := range d {
				d[j] /= nv
			}
			if c := change(d); c > eff+1e-9 {
				t.Fatalf("feature %d: random delta %v beats worst case %v", i, c, eff)
			}
		}
	}
	// known answers: orthogonal 1, antipodal sqrt 2, pentagon sqrt(5/2)
	for _, tc := range []struct {
		W    [][]float64
		want float64
	}{{[][]float64{{1, 0}, {0, 1}}, 1}, {[][]float64{{1}, {-1}}, math.Sqrt2}, {polygon(5, 0), math.Sqrt(2.5)}} {
		if v := Vulnerability(tc.W)[0]; math.Abs(v-tc.want) > 1e-9 {
			t.Errorf("vulnerability %v, want %v", v, tc.want)
		}
	}
}

func TestNeurons(t *testing.T) {
	// neuron 0 reads feature 0 only; neuron 1 reads features 1 and 2 equally
	W := [][]float64{{1, 0}, {0, 1}, {0, 1}}
	s := Neurons(W)
	if !close(s.Monosemanticity, []float64{1, 1 / math.Sqrt2}, 1e-12) || !close(s.FeaturesPerNeuron, []float64{1, 2}, 1e-12) {
		t.Errorf("neurons %+v", s)
	}
	if s.Polysemantic != 1 || s.TopFeature[0] != 0 {
		t.Errorf("neurons %+v", s)
	}
}

func TestAdjacentAngles(t *testing.T) {
	got := AdjacentAngles(polygon(5, 1), 0.5)
	if !close(got, []float64{72, 72, 72, 72, 72}, 1e-9) {
		t.Errorf("angles %v", got)
	}
}

func TestDistribution(t *testing.T) {
	const N = 40000
	d := Distribution{Density: []float64{1, 0.5, 0.1, 0.02, 0.3, 0.3, 0.2, 0.2, 0.2}, Correlated: [][]int{{4, 5}}, Anticorrelated: [][]int{{6, 7, 8}}}
	xs, err := d.Sample(N, 3)
	if err != nil {
		t.Fatal(err)
	}
	count := make([]float64, len(d.Density))
	var sum float64
	var present float64
	for _, x := range xs {
		for i, v := range x {
			if v < 0 || v >= 1 {
				t.Fatalf("value %v outside [0,1)", v)
			}
			if v != 0 {
				count[i]++
			}
		}
		if (x[4] == 0) != (x[5] == 0) {
			t.Fatal("correlated set split")
		}
		if k := btoi(x[6] != 0) + btoi(x[7] != 0) + btoi(x[8] != 0); k > 1 {
			t.Fatal("anticorrelated set has two active members")
		}
		if x[1] != 0 {
			sum += x[1]
			present++
		}
	}
	for i, c := range count {
		p := d.Density[i]
		if se := math.Sqrt(p * (1 - p) / N); math.Abs(c/N-p) > 5*se+1e-9 {
			t.Errorf("feature %d density %v, want %v", i, c/N, p)
		}
	}
	if m := sum / present; math.Abs(m-0.5) > 0.01 {
		t.Errorf("mean non-zero value %v, want 0.5", m)
	}
	// the trainer's batched sampler draws the same distribution
	s := newSampler(&Distribution{Density: []float64{0.25, 0.75, 1}, Signed: true})
	X := make([]float64, 3*N)
	r := seed.New(4)
	s.fillColumns(&r, X, N, N, nil, nil)
	for i, p := range []float64{0.25, 0.75, 1} {
		var c, neg float64
		for _, v := range X[i*N : (i+1)*N] {
			if v < -1 || v >= 1 {
				t.Fatalf("signed value %v", v)
			}
			if v != 0 {
				c++
			}
			if v < 0 {
				neg++
			}
		}
		if math.Abs(c/N-p) > 0.01 || math.Abs(neg/c-0.5) > 0.02 {
			t.Errorf("batched feature %d: density %v (want %v), negative share %v", i, c/N, p, neg/c)
		}
	}
	if _, err := (&Distribution{Density: []float64{1.5}}).Sample(1, 0); err == nil {
		t.Error("density 1.5 accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestImportanceAndSteps(t *testing.T) {
	if got := GeometricImportance(4, 0.5); !close(got, []float64{1, 0.5, 0.25, 0.125}, 0) {
		t.Errorf("importance %v", got)
	}
	s := LogSpacedSteps(10000, 12)
	if s[0] != 0 || s[len(s)-1] != 10000 || len(s) < 8 {
		t.Errorf("snapshot steps %v", s)
	}
	for j := 1; j < len(s); j++ {
		if s[j] <= s[j-1] {
			t.Errorf("steps not increasing: %v", s)
		}
	}
	if v, name := NearestSticky(0.41); v != 0.4 || name != "pentagon" {
		t.Errorf("nearest sticky %v %s", v, name)
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	W := polygon(5, 0)
	ir := InstanceResult{Instance: Instance{Label: "p", Data: Distribution{Density: UniformDensity(5, 0.1)}, Importance: GeometricImportance(5, 0.9)},
		LossSteps: []int{1, 2}, Loss: []float64{0.5, 0.25}, FinalLoss: 0.1, Final: Weights{W: W, B: make([]float64, 5)},
		Snapshots: []Snapshot{{Step: 0, Weights: Weights{W: W, B: make([]float64, 5)}}}}
	res := ExperimentResult{Experiment: "pentagon", Instances: []Analysis{Analyze(ReLUOutput, ir)},
		Phases: []*PhaseResult{{Features: 2, Hidden: 1, Phase: [][]string{{PhaseDedicated}}, PhaseCode: [][]int{{1}}}}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back ExperimentResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, back) {
		t.Errorf("round trip changed the result:\n%+v\n%+v", res, back)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Error("re-marshalled JSON differs")
	}
}

// ExampleDimensionalities shows the sticky fraction of a pentagon.
func ExampleDimensionalities() {
	var W [][]float64
	for i := 0; i < 5; i++ {
		a := 2 * math.Pi * float64(i) / 5
		W = append(W, []float64{math.Cos(a), math.Sin(a)})
	}
	fmt.Printf("D_i = %.2f, D* = %.2f\n", Dimensionalities(W)[0], DStar(W))
	// Output: D_i = 0.40, D* = 0.40
}

// ExampleReadGeometry names the structures in a weight matrix.
func ExampleReadGeometry() {
	W := [][]float64{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, 0, 0.01}}
	fmt.Println(ReadGeometry(W, GeometryOptions{}).Summary)
	// Output: antipodal pair x1, dedicated dimension x1, not represented x1
}
