package sae

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
)

// TestVecWrappers checks that axpy, axpy2 and dot reach tensor's kernels
// with the right lengths for both element types: x longer than y for the
// axpys (they run over y), y longer than x for dot (it runs over x).
func TestVecWrappers(t *testing.T) {
	testVecWrappers[float32](t, 1e-5)
	testVecWrappers[float64](t, 1e-12)
}

func testVecWrappers[T num](t *testing.T, tol float64) {
	r := seed.New(3)
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 70} {
		vec := func(n int) []T {
			v := make([]T, n)
			for i := range v {
				v[i] = T(r.NormFloat64())
			}
			return v
		}
		x, y, u, v := vec(n+2), vec(n), vec(n+1), vec(n)
		var want float64
		for i := range y {
			want += float64(y[i]) * float64(x[i])
		}
		if got := dot(y, x); math.Abs(float64(got)-want) > tol*(1+math.Sqrt(float64(n))) {
			t.Errorf("%T n=%d: dot %v, want %v", T(0), n, got, want)
		}
		a, b := T(0.5), T(-2)
		y0, v0 := append([]T(nil), y...), append([]T(nil), v...)
		axpy(a, x, y)
		for i := range y {
			if w := float64(y0[i]) + 0.5*float64(x[i]); math.Abs(float64(y[i])-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("%T n=%d: axpy[%d] %v, want %v", T(0), n, i, y[i], w)
			}
		}
		y0 = append(y0[:0], y...)
		axpy2(a, x, y, b, u, v)
		for i := range y {
			wy, wv := float64(y0[i])+0.5*float64(x[i]), float64(v0[i])-2*float64(u[i])
			if math.Abs(float64(y[i])-wy) > tol*(1+math.Abs(wy)) || math.Abs(float64(v[i])-wv) > tol*(1+math.Abs(wv)) {
				t.Fatalf("%T n=%d: axpy2[%d] %v %v, want %v %v", T(0), n, i, y[i], v[i], wy, wv)
			}
		}
	}
}

// TestMaskAdd checks the float32 mask against the float64 branch.
func TestMaskAdd(t *testing.T) {
	f := []float32{0, float32(math.Copysign(0, -1)), 1e-30, 2, 0, 3.5}
	dz := []float32{1, 2, 3, 4, 5, 6}
	f64 := []float64{0, 0, 1e-30, 2, 0, 3.5}
	dz64 := []float64{1, 2, 3, 4, 5, 6}
	maskAdd(dz, f, 0.5)
	maskAdd(dz64, f64, 0.5)
	for k := range dz {
		if float64(dz[k]) != dz64[k] {
			t.Errorf("entry %d: float32 %v, float64 %v", k, dz[k], dz64[k])
		}
	}
}
