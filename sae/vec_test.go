package sae

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
)

// TestVecKernelsMatchGo checks the float32 kernels (assembly where the CPU
// has it) against their Go loops on every length around the assembly's
// 32-element blocks, on unaligned sub-slices.
func TestVecKernelsMatchGo(t *testing.T) {
	r := seed.New(3)
	for n := 0; n <= 140; n++ {
		x := make([]float32, n+1)
		y := make([]float32, n+1)
		for j := range x {
			x[j], y[j] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		x, y = x[1:], y[1:] // off the allocation's alignment
		var want float64
		for j := range x {
			want += float64(x[j]) * float64(y[j])
		}
		if got := dot(x, y); math.Abs(float64(got)-want) > 1e-5*(1+math.Sqrt(float64(n))) {
			t.Errorf("n %d: dot %v, want %v", n, got, want)
		}
		a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
		yg := append([]float32(nil), y...)
		axpy(a, x, y)
		axpyGo(a, x, yg)
		close := func(name string, got, want []float32) {
			for j := range got {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-6*(1+math.Abs(float64(want[j]))) {
					t.Fatalf("n %d: %s[%d] %v, Go %v", n, name, j, got[j], want[j])
				}
			}
		}
		close("axpy", y, yg)
		u, v := append([]float32(nil), y...), append([]float32(nil), x...)
		ug, vg := append([]float32(nil), u...), append([]float32(nil), v...)
		xg, yg2 := append([]float32(nil), x...), append([]float32(nil), y...)
		axpy2(a, x, y, b, u, v)
		axpyGo(a, xg, yg2)
		axpyGo(b, ug, vg)
		close("axpy2 y", y, yg2)
		close("axpy2 v", v, vg)
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
