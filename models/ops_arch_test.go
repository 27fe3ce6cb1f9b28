package models

import (
	"math"
	"testing"
)

// TestGeluErfAccuracy checks the fast exact GELU and its derivative against
// math.Erf over the range activations take, and in the tails.
func TestGeluErfAccuracy(t *testing.T) {
	var xs []float32
	for v := -12.0; v <= 12; v += 0.001 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, -1e4, -100, 100, 1e4, 0)
	out, d := make([]float32, len(xs)), make([]float32, len(xs))
	ones := make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	geluErf(out, xs)
	geluErfBackward(d, ones, xs)
	var worst, worstD float64
	for i, v := range xs {
		x := float64(v)
		want := 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
		wantD := 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
		worst = max(worst, math.Abs(float64(out[i])-want)/max(1, math.Abs(want)))
		worstD = max(worstD, math.Abs(float64(d[i])-wantD))
	}
	if worst > 3e-7 || worstD > 1e-6 {
		t.Errorf("largest error: gelu %.2g (relative), derivative %.2g", worst, worstD)
	}
}
