package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestF64KernelsMatchGo checks the assembly float64 kernels against their
// Go definitions on lengths around the unroll widths.
func TestF64KernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 3, 4, 7, 15, 16, 17, 33, 64, 100, 1023, 1024} {
		x := make([]float64, n)
		y := make([]float64, n+2)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		for i := range y {
			y[i] = r.NormFloat64()
		}
		y2 := append([]float64(nil), y...)
		Axpy64(0.37, x, y)
		axpyGo(0.37, x, y2)
		for i := range y {
			if math.Abs(y[i]-y2[i]) > 1e-12 {
				t.Fatalf("n=%d: Axpy64[%d] = %v, want %v", n, i, y[i], y2[i])
			}
		}
		var g float64
		for i := range x {
			g += x[i] * y[i]
		}
		if d := Dot64(x, y); math.Abs(d-g) > 1e-9*(1+math.Abs(g)) {
			t.Fatalf("n=%d: Dot64 = %v, want %v", n, d, g)
		}
		for _, relu := range []bool{true, false} {
			pre := x
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = r.Float64()
			}
			g1, g2 := make([]float64, n), make([]float64, n)
			l1, s1, a1 := ClampedResidual64(pre, xs, g1, 0.3, relu)
			l2, s2, a2 := clampedResidual64Go(pre, xs, g2, 0.3, relu)
			if math.Abs(l1-l2) > 1e-9 || math.Abs(s1-s2) > 1e-9 || a1 != a2 {
				t.Fatalf("n=%d relu=%v: ClampedResidual64 = %v %v %v, want %v %v %v", n, relu, l1, s1, a1, l2, s2, a2)
			}
			for i := range g1 {
				if math.Abs(g1[i]-g2[i]) > 1e-12 {
					t.Fatalf("n=%d relu=%v: g[%d] = %v, want %v", n, relu, i, g1[i], g2[i])
				}
			}
		}
	}
	t.Logf("AVX2+FMA float64 kernels: %v", hasF64Asm)
}

// TestClampedResidual64KnownAnswer works one small case by hand.
func TestClampedResidual64KnownAnswer(t *testing.T) {
	pre := []float64{-1, 2, 0.5}
	x := []float64{1, 1, 1}
	for _, tc := range []struct {
		relu      bool
		sse, gsum float64
		g         []float64
		active    bool
	}{
		// ReLU: out = (0, 2, 0.5), d = (-1, 1, -0.5), lane 0 clamped.
		{true, 1 + 1 + 0.25, 2*1 + 2*-0.5, []float64{0, 2, -1}, true},
		// Linear: d = (-2, 1, -0.5).
		{false, 4 + 1 + 0.25, 2 * (-2 + 1 - 0.5), []float64{-4, 2, -1}, true},
	} {
		g := make([]float64, 3)
		sse, gsum, active := ClampedResidual64(pre, x, g, 2, tc.relu)
		if math.Abs(sse-tc.sse) > 1e-12 || math.Abs(gsum-tc.gsum) > 1e-12 || active != tc.active {
			t.Errorf("relu=%v: got %v %v %v, want %v %v %v", tc.relu, sse, gsum, active, tc.sse, tc.gsum, tc.active)
		}
		for i := range g {
			if g[i] != tc.g[i] {
				t.Errorf("relu=%v: g = %v, want %v", tc.relu, g, tc.g)
				break
			}
		}
	}
	if _, _, active := ClampedResidual64([]float64{-1, 0}, []float64{0, 0}, make([]float64, 2), 1, true); active {
		t.Error("all lanes clamped, yet active")
	}
}

func BenchmarkDot64(b *testing.B) {
	x := make([]float64, 1024)
	for i := range x {
		x[i] = float64(i)
	}
	b.SetBytes(16 * int64(len(x)))
	for b.Loop() {
		Dot64(x, x)
	}
}
