package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between two float32s in units in the last place.
func ulps(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// Both paths of ExpShifted against float64 math.Exp, over the whole range,
// its edges and the special values; odd lengths exercise the scalar tail
// after the vector body.
func TestExpShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var src []float32
	for i := 0; i < 200_000; i++ {
		src = append(src, float32(rng.Float64()*(expHi-expLo)+expLo))
	}
	for i := 0; i < 20_000; i++ {
		src = append(src, float32(rng.NormFloat64()))
	}
	src = append(src, 0, -0, 1, -1, expLo, expHi, 1e-30, -1e-30, 88, -87,
		float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), -100, 100, -1e30, 1e30, 3)
	for _, path := range []struct {
		name string
		asm  bool
	}{{"vector", true}, {"scalar", false}} {
		t.Run(path.name, func(t *testing.T) {
			if path.asm && !hasExpAsm {
				t.Skip("no AVX2+FMA on this CPU")
			}
			saved := hasExpAsm
			hasExpAsm = path.asm
			defer func() { hasExpAsm = saved }()
			for _, shift := range []float32{0, 2.5, -3} {
				dst := make([]float32, len(src))
				ExpShifted(dst, src, shift)
				worst := 0.0
				for i, x := range src {
					arg := x - shift
					got := dst[i]
					want := math.Exp(float64(arg))
					switch {
					case math.IsNaN(float64(arg)):
						if !math.IsNaN(float64(got)) {
							t.Fatalf("e^NaN = %v", got)
						}
					case arg < expLo:
						if got != 0 {
							t.Fatalf("e^%v = %v, want 0 below the range", arg, got)
						}
					case arg > expHi:
						if !math.IsInf(float64(got), 1) {
							t.Fatalf("e^%v = %v, want +Inf above the range", arg, got)
						}
					default:
						rel := math.Abs(float64(got)-want) / want
						worst = math.Max(worst, rel)
						if rel > 2e-7 {
							t.Fatalf("shift %v: e^%v = %v, want %v (relative error %.2g)", shift, arg, got, want, rel)
						}
					}
				}
				t.Logf("shift %v: worst relative error %.3g", shift, worst)
			}
		})
	}
}

// In place, odd lengths, and the two paths within one ulp of each other.
func TestExpShiftedPathsAgree(t *testing.T) {
	if !hasExpAsm {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 1023} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 20)
		}
		vec := append([]float32(nil), src...)
		ExpShifted(vec, vec, 1) // in place
		for i, x := range src {
			if d := ulps(vec[i], expf(x-1)); d > 1 {
				t.Errorf("n=%d, i=%d: vector %v, scalar %v (%d ulps)", n, i, vec[i], expf(x-1), d)
			}
		}
	}
}

func BenchmarkExpShifted(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%100) * -0.1
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		ExpShifted(dst, src, 0)
	}
}

func BenchmarkMathExp(b *testing.B) {
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(i%100) * -0.1
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		for i, x := range src {
			dst[i] = float32(math.Exp(float64(x)))
		}
	}
}
