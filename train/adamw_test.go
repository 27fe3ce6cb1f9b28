package train

import (
	"math"
	"testing"
)

// TestAdamWReference checks two AdamW updates against values worked out by
// hand from PyTorch's torch.optim.AdamW formulas, with weight decay on the
// first two values only (a "matrix") and not on the third (a "bias").
func TestAdamWReference(t *testing.T) {
	o := &AdamW{
		Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.5,
		M: make([]float32, 3), V: make([]float32, 3),
		spans: []span{{0, 2, true}, {2, 3, false}},
	}
	p := []float32{1, -2, 0.5}
	const lr = 0.1

	// Step 1, g = (0.5, -1, 2): m = 0.1 g, v = 0.01 g², m̂ = g, v̂ = g²,
	// so the Adam step is lr·sign(g) (up to ε); decay first multiplies the
	// matrix entries by 1 − lr·λ = 0.95.
	//   p0 = 1·0.95 − 0.1 = 0.85, p1 = −2·0.95 + 0.1 = −1.8, p2 = 0.5 − 0.1 = 0.4
	if err := o.Step(p, []float32{0.5, -1, 2}, lr); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.85, -1.8, 0.4}
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > 1e-6 {
			t.Errorf("step 1: p[%d] = %.8f, want %.8f", i, p[i], want[i])
		}
	}

	// Step 2, g = (−0.5, −1, 1):
	//   m = 0.9·m + 0.1·g = (0.045−0.05, −0.09−0.1, 0.18+0.1) = (−0.005, −0.19, 0.28)
	//   v = 0.99·v + 0.01·g² = (0.0025·0.99+0.0025, 0.01·0.99+0.01, 0.04·0.99+0.01)
	//     = (0.004975, 0.0199, 0.0496)
	//   bias corrections: 1−0.9² = 0.19, 1−0.99² = 0.0199
	//   p_i ← p_i·(1−lr·λ if decayed) − lr · (m_i/0.19) / (√(v_i/0.0199) + ε)
	//   p0 = 0.85·0.95 + 0.1·(0.005/0.19)/0.5 = 0.8075 + 0.00526316 = 0.81276316
	//   p1 = −1.8·0.95 + 0.1·(0.19/0.19)/1 = −1.71 + 0.1 = −1.61
	//   p2 = 0.4 − 0.1·(0.28/0.19)/√(0.0496/0.0199) = 0.4 − 0.14736842/1.57874... = 0.30665...
	if err := o.Step(p, []float32{-0.5, -1, 1}, lr); err != nil {
		t.Fatal(err)
	}
	want = []float64{0.81276316, -1.61, 0.4 - 0.1*(0.28/0.19)/(math.Sqrt(0.0496/0.0199)+1e-8)}
	for i := range p {
		if math.Abs(float64(p[i])-want[i]) > 1e-6 {
			t.Errorf("step 2: p[%d] = %.8f, want %.8f", i, p[i], want[i])
		}
	}
	if o.T != 2 {
		t.Errorf("T = %d, want 2", o.T)
	}
	wantM := []float64{-0.005, -0.19, 0.28}
	wantV := []float64{0.004975, 0.0199, 0.0496}
	for i := range o.M {
		if math.Abs(float64(o.M[i])-wantM[i]) > 1e-7 || math.Abs(float64(o.V[i])-wantV[i]) > 1e-7 {
			t.Errorf("moments[%d] = (%g, %g), want (%g, %g)", i, o.M[i], o.V[i], wantM[i], wantV[i])
		}
	}
	if err := o.Step(p, []float32{1}, lr); err == nil {
		t.Error("a gradient of the wrong length was accepted")
	}
}
