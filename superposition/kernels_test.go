package superposition

import (
	"math"
	"testing"
)

func TestKernelsMatchGo(t *testing.T) {
	r := newRNG(1)
	for _, n := range []int{0, 1, 3, 4, 15, 16, 17, 33, 100, 1024} {
		x := make([]float64, n)
		y := make([]float64, n+2)
		for i := range x {
			x[i] = r.norm()
		}
		for i := range y {
			y[i] = r.norm()
		}
		y2 := append([]float64(nil), y...)
		axpy(0.37, x, y)
		axpyGo(0.37, x, y2)
		for i := range y {
			if math.Abs(y[i]-y2[i]) > 1e-12 {
				t.Fatalf("n=%d axpy[%d] = %v, want %v", n, i, y[i], y2[i])
			}
		}
		if d, g := dot(x, y), dotGo(x, y); math.Abs(d-g) > 1e-9*(1+math.Abs(g)) {
			t.Fatalf("n=%d dot = %v, want %v", n, d, g)
		}
	}
	t.Logf("AVX2+FMA kernels: %v", hasAVX2FMA)
}
