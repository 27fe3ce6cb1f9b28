package train

import (
	"math"
	"runtime"
	"testing"

	"github.com/mechinterp/mechinterp/models"
)

// TestAdamWReference checks two AdamW updates, in float32 and in float64,
// against values worked out by hand from PyTorch's torch.optim.AdamW
// formulas, with weight decay on the first two values only (a "matrix") and
// not on the third (a "bias").
func TestAdamWReference(t *testing.T) {
	t.Run("float32", func(t *testing.T) { adamWReference[float32](t, 1e-6) })
	t.Run("float64", func(t *testing.T) { adamWReference[float64](t, 1e-12) })
}

func adamWReference[F Float](t *testing.T, tol float64) {
	o := NewAdamWMasked[F](3, Hyper{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.5}, []Span{{0, 2}})
	p := []F{1, -2, 0.5}
	const lr = 0.1

	// Step 1, g = (0.5, -1, 2): m = 0.1 g, v = 0.01 g², m̂ = g, v̂ = g²,
	// so the Adam step is lr·sign(g) (up to ε); decay first multiplies the
	// matrix entries by 1 − lr·λ = 0.95.
	//   p0 = 1·0.95 − 0.1 = 0.85, p1 = −2·0.95 + 0.1 = −1.8, p2 = 0.5 − 0.1 = 0.4
	if err := o.Step(p, []F{0.5, -1, 2}, lr); err != nil {
		t.Fatal(err)
	}
	// ε perturbs the sign step by lr·ε/|g|, below float64's tolerance only
	// when accounted for.
	want := []float64{0.95 - 0.1/(1+1e-8/0.5), -1.9 + 0.1/(1+1e-8), 0.5 - 0.1/(1+1e-8/2)}
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > tol {
			t.Errorf("step 1: p[%d] = %.12f, want %.12f", i, float64(p[i]), want[i])
		}
	}

	// Step 2, g = (−0.5, −1, 1):
	//   m = 0.9·m + 0.1·g = (0.045−0.05, −0.09−0.1, 0.18+0.1) = (−0.005, −0.19, 0.28)
	//   v = 0.99·v + 0.01·g² = (0.0025·0.99+0.0025, 0.01·0.99+0.01, 0.04·0.99+0.01)
	//     = (0.004975, 0.0199, 0.0496)
	//   bias corrections: 1−0.9² = 0.19, 1−0.99² = 0.0199
	//   p_i ← p_i·(1−lr·λ if decayed) − lr · (m_i/0.19) / (√(v_i/0.0199) + ε)
	//   p0 ≈ 0.85·0.95 + 0.1·(0.005/0.19)/0.5 = 0.8075 + 0.00526316 = 0.81276316
	//   p1 ≈ −1.8·0.95 + 0.1·(0.19/0.19)/1 = −1.71 + 0.1 = −1.61
	//   p2 ≈ 0.4 − 0.1·(0.28/0.19)/√(0.0496/0.0199) = 0.4 − 0.14736842/1.57874... = 0.30665...
	if err := o.Step(p, []F{-0.5, -1, 1}, lr); err != nil {
		t.Fatal(err)
	}
	m := []float64{-0.005, -0.19, 0.28}
	v := []float64{0.004975, 0.0199, 0.0496}
	decay := []float64{0.95, 0.95, 1}
	for i := range p {
		w := want[i]*decay[i] - 0.1*(m[i]/0.19)/(math.Sqrt(v[i]/0.0199)+1e-8)
		if math.Abs(float64(p[i])-w) > tol {
			t.Errorf("step 2: p[%d] = %.12f, want %.12f", i, float64(p[i]), w)
		}
	}
	if o.T != 2 {
		t.Errorf("T = %d, want 2", o.T)
	}
	for i := range o.M {
		if math.Abs(float64(o.M[i])-m[i]) > tol/10 || math.Abs(float64(o.V[i])-v[i]) > tol/10 {
			t.Errorf("moments[%d] = (%g, %g), want (%g, %g)", i, o.M[i], o.V[i], m[i], v[i])
		}
	}
	if err := o.Step(p, []F{1}, lr); err == nil {
		t.Error("a gradient of the wrong length was accepted")
	}
}

// TestAdamWDecayMask checks which entries decay for several masks: with a
// zero gradient Adam's step is 0, so a decayed entry shrinks by 1 − lr·λ and
// any other stays put.
func TestAdamWDecayMask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		decay []Span
		want  []bool
	}{
		{"none", 4, nil, []bool{false, false, false, false}},
		{"all", 4, []Span{{0, 4}}, []bool{true, true, true, true}},
		{"middle", 5, []Span{{1, 3}}, []bool{false, true, true, false, false}},
		{"unsorted overlapping", 6, []Span{{4, 6}, {0, 2}, {1, 3}}, []bool{true, true, true, false, true, true}},
		{"adjacent and empty", 4, []Span{{0, 1}, {1, 2}, {3, 3}}, []bool{true, true, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewAdamWMasked[float64](tc.n, Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5}, tc.decay)
			p := make([]float64, tc.n)
			for i := range p {
				p[i] = 1
			}
			if err := o.Step(p, make([]float64, tc.n), 0.1); err != nil {
				t.Fatal(err)
			}
			for i, d := range tc.want {
				want := 1.0
				if d {
					want = 0.95
				}
				if math.Abs(p[i]-want) > 1e-12 {
					t.Errorf("p[%d] = %v, want %v", i, p[i], want)
				}
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("a decay range outside the parameters did not panic")
		}
	}()
	NewAdamWMasked[float32](3, Hyper{}, []Span{{2, 4}})
}

// TestNewAdamWDecaysMatrices checks nanoGPT's rule on a real model: every
// parameter of two or more dimensions decays, biases and LayerNorm do not.
func TestNewAdamWDecaysMatrices(t *testing.T) {
	m, err := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 4, DVocab: 10})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.WeightDecay = 0.5
	o := NewAdamW(m.Params, cfg)
	p := make([]float32, len(m.Params.Data))
	for i := range p {
		p[i] = 1
	}
	if err := o.Step(p, make([]float32, len(p)), 0.1); err != nil {
		t.Fatal(err)
	}
	for _, q := range m.Params.List() {
		want := float32(1)
		if len(q.Shape) >= 2 {
			want = 0.95
		}
		if got := p[q.Offset]; math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("%s %v: %v after a zero-gradient step, want %v", q.Name, q.Shape, got, want)
		}
	}
}

// BenchmarkAdamWShapeC is one update of shape C's 10.6M parameters
// (bench-vs-torch.sh), half of them decayed.
func BenchmarkAdamWShapeC(b *testing.B) {
	const n = 10_635_264
	o := NewAdamWMasked[float32](n, Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}, []Span{{0, n / 2}})
	p, g := make([]float32, n), make([]float32, n)
	for i := range p {
		p[i], g[i] = float32(i%7)*0.1, float32(i%5)*0.01-0.02
	}
	b.SetBytes(7 * 4 * n)
	for b.Loop() {
		if err := o.Step(p, g, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAdamWSplitIsExact: an update cut among workers (a vector long enough
// for several) gives bit for bit the values of one worker, across decay
// runs that straddle the cut.
func TestAdamWSplitIsExact(t *testing.T) {
	n := 5*adamWMinChunk + 123
	decay := []Span{{0, 1000}, {adamWMinChunk - 10, 3 * adamWMinChunk}, {4*adamWMinChunk + 1, n}}
	run := func(procs int) ([]float32, *AdamW[float32]) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		o := NewAdamWMasked[float32](n, Hyper{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}, decay)
		p, g := make([]float32, n), make([]float32, n)
		for step := range 3 {
			for i := range p {
				if step == 0 {
					p[i] = float32(math.Sin(float64(i)))
				}
				g[i] = float32(math.Cos(float64(i*(step+1)))) * 1e-2
			}
			if err := o.Step(p, g, 1e-3); err != nil {
				t.Fatal(err)
			}
		}
		return p, o
	}
	p1, o1 := run(1)
	p4, o4 := run(4)
	for i := range p1 {
		if math.Float32bits(p1[i]) != math.Float32bits(p4[i]) || o1.M[i] != o4.M[i] || o1.V[i] != o4.V[i] {
			t.Fatalf("element %d: one worker p=%v m=%v v=%v, four p=%v m=%v v=%v", i, p1[i], o1.M[i], o1.V[i], p4[i], o4.M[i], o4.V[i])
		}
	}
}
