package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecAsmMatchesGo calls every vector kernel's assembly directly (not
// through the dispatch, which keeps short vectors in Go) and compares it with
// its Go twin on every length 0..70 (the vector body, the scalar tail and
// both together) at odd offsets into the allocation, for float32 and
// float64. The assembly fuses multiply-adds and sums in another order, so
// they agree to a few units in the last place, not bit for bit.
func TestVecAsmMatchesGo(t *testing.T) {
	if !hasF32Asm || !hasF64Asm {
		t.Skip("no AVX2+FMA on this CPU, or built with noasm: only the Go twins run")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 70; n++ {
		for _, off := range []int{0, 1, 3, 7} {
			x32, y32, u32, v32 := randF32(r, n, off), randF32(r, n, off), randF32(r, n, off), randF32(r, n, off)
			a, b := float32(r.NormFloat64()), float32(r.NormFloat64())

			got, want := clone(y32), clone(y32)
			axpy32AVX2(a, x32, got)
			axpyGo(a, x32, want)
			near32(t, "axpy32", n, off, got, want, func(i int) float64 { return math.Abs(float64(a*x32[i])) + math.Abs(float64(y32[i])) })

			gy, gv, wy, wv := clone(y32), clone(v32), clone(y32), clone(v32)
			axpy2x32AVX2(a, x32, gy, b, u32, gv)
			axpyGo(a, x32, wy)
			axpyGo(b, u32, wv)
			near32(t, "axpy2x32 y", n, off, gy, wy, func(i int) float64 { return math.Abs(float64(a*x32[i])) + math.Abs(float64(y32[i])) })
			near32(t, "axpy2x32 v", n, off, gv, wv, func(i int) float64 { return math.Abs(float64(b*u32[i])) + math.Abs(float64(v32[i])) })

			var mag float64
			for i := range x32 {
				mag += math.Abs(float64(x32[i] * y32[i]))
			}
			if d, w := dot32AVX2(x32, y32), dotGo(x32, y32); math.Abs(float64(d-w)) > 4e-7*mag*float64(1+n/8) {
				t.Errorf("n=%d off=%d: dot32 asm %v, Go %v", n, off, d, w)
			}

			x64, y64 := randF64(r, n, off), randF64(r, n, off)
			a64 := r.NormFloat64()
			g64, w64 := clone(y64), clone(y64)
			axpy64AVX2(a64, x64, g64)
			axpyGo(a64, x64, w64)
			for i := range g64 {
				if math.Abs(g64[i]-w64[i]) > 2.3e-16*(math.Abs(a64*x64[i])+math.Abs(y64[i])) {
					t.Errorf("n=%d off=%d: axpy64[%d] asm %v, Go %v", n, off, i, g64[i], w64[i])
				}
			}
			mag = 0
			for i := range x64 {
				mag += math.Abs(x64[i] * y64[i])
			}
			var w float64 // Dot64's Go loop is inline in Dot64: the plain sum
			for i := range x64 {
				w += x64[i] * y64[i]
			}
			if d := dot64AVX2(x64, y64); math.Abs(d-w) > 8e-16*mag*float64(1+n/4) {
				t.Errorf("n=%d off=%d: dot64 asm %v, Go %v", n, off, d, w)
			}

			for _, relu := range []bool{true, false} {
				floor := math.Inf(-1)
				if relu {
					floor = 0
				}
				ga, gg := make([]float64, n+off)[off:], make([]float64, n+off)[off:]
				s1, gs1, act1 := clampedResidual64AVX2(x64, y64, ga, 0.3, floor)
				s2, gs2, act2 := clampedResidual64Go(x64, y64, gg, 0.3, relu)
				if math.Abs(s1-s2) > 1e-13*(1+s2) || math.Abs(gs1-gs2) > 1e-13*(1+math.Abs(s2)) || (act1 != 0) != act2 {
					t.Errorf("n=%d off=%d relu=%v: clampedResidual64 asm %v %v %v, Go %v %v %v", n, off, relu, s1, gs1, act1, s2, gs2, act2)
				}
				for i := range ga {
					if math.Abs(ga[i]-gg[i]) > 1e-15*(1+math.Abs(gg[i])) {
						t.Errorf("n=%d off=%d relu=%v: g[%d] asm %v, Go %v", n, off, relu, i, ga[i], gg[i])
					}
				}
			}
		}
	}
}

// The exported kernels, whichever path they take, on lengths either side of
// f32AsmMin, against float64 sums.
func TestF32Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 1, 5, 31, 32, 33, 100, 1023} {
		x, y := randF32(r, n, 1), randF32(r, n+3, 1)
		var want float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
		}
		if got := Dot32(x, y); math.Abs(float64(got)-want) > 1e-5*(1+math.Sqrt(float64(n))) {
			t.Errorf("n=%d: Dot32 %v, want %v", n, got, want)
		}
		before := clone(y)
		Axpy32(2, x, y)
		for i := range y {
			w := float64(before[i])
			if i < n {
				w += 2 * float64(x[i])
			}
			if math.Abs(float64(y[i])-w) > 1e-6*(1+math.Abs(w)) {
				t.Fatalf("n=%d: Axpy32[%d] %v, want %v", n, i, y[i], w)
			}
		}
		u, v := randF32(r, n, 0), randF32(r, n, 0)
		y0, v0 := clone(y), clone(v)
		Axpy2x32(-1, x, y, 0.5, u, v)
		for i := range x {
			if wy, wv := float64(y0[i])-float64(x[i]), float64(v0[i])+0.5*float64(u[i]); math.Abs(float64(y[i])-wy) > 1e-6*(1+math.Abs(wy)) || math.Abs(float64(v[i])-wv) > 1e-6*(1+math.Abs(wv)) {
				t.Fatalf("n=%d: Axpy2x32[%d] %v %v, want %v %v", n, i, y[i], v[i], wy, wv)
			}
		}
	}
	t.Logf("AVX2+FMA float32 kernels: %v", hasF32Asm)
}

func randF32(r *rand.Rand, n, off int) []float32 {
	v := make([]float32, n+off)[off:]
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func randF64(r *rand.Rand, n, off int) []float64 {
	v := make([]float64, n+off)[off:]
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func clone[T any](v []T) []T { return append([]T(nil), v...) }

func near32(t *testing.T, name string, n, off int, got, want []float32, scale func(i int) float64) {
	t.Helper()
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1.2e-7*scale(i) {
			t.Errorf("n=%d off=%d: %s[%d] asm %v, Go %v", n, off, name, i, got[i], want[i])
			return
		}
	}
}

func BenchmarkDot32(b *testing.B) {
	x := make([]float32, 512)
	for i := range x {
		x[i] = float32(i)
	}
	b.SetBytes(8 * int64(len(x)))
	for b.Loop() {
		Dot32(x, x)
	}
}

func BenchmarkAxpy2x32(b *testing.B) {
	x := make([]float32, 512)
	y, u, v := clone(x), clone(x), clone(x)
	b.SetBytes(24 * int64(len(x)))
	for b.Loop() {
		Axpy2x32(1e-3, x, y, -1e-3, u, v)
	}
}
