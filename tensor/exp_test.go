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

// TestGeluTanhPaths: the AVX2 kernels of GeluTanh and GeluTanhBackward give
// the portable loops' bits on every length (the vector body and the scalar
// tail), including ±0, ±Inf, NaN and arguments past the exponential's
// range, and GeluTanh is tanh-GELU to float32 rounding.
func TestGeluTanhPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 40, -40, 1e-30, -1e-30, 3e38, -3e38, 9.5, -9.5}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 100, 513, 1031} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
			if rng.IntN(5) == 0 {
				x[i] = special[rng.IntN(len(special))]
			}
		}
		dout := make([]float32, n)
		for i := range dout {
			dout[i] = float32(rng.NormFloat64())
		}
		got, want := make([]float32, n), make([]float32, n)
		GeluTanh(got, x)
		geluTanhGo(want, x)
		dgot, dwant := make([]float32, n), make([]float32, n)
		for i := range dgot {
			dgot[i] = float32(i)
			dwant[i] = float32(i)
		}
		GeluTanhBackward(dgot, dout, x)
		geluTanhBackwardGo(dwant, dout, x)
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n=%d: GeluTanh(%g) = %g, portable loop %g", n, x[i], got[i], want[i])
			}
			if math.Float32bits(dgot[i]) != math.Float32bits(dwant[i]) && !(dgot[i] != dgot[i] && dwant[i] != dwant[i]) {
				t.Fatalf("n=%d: GeluTanhBackward at %g = %g, portable loop %g", n, x[i], dgot[i], dwant[i])
			}
			v := float64(x[i])
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e30 {
				continue
			}
			ref := 0.5 * v * (1 + math.Tanh(geluA*(v+0.044715*v*v*v)))
			if math.Abs(float64(got[i])-ref) > 1e-6*(1+math.Abs(ref)) {
				t.Fatalf("GeluTanh(%g) = %g, want %g", v, got[i], ref)
			}
		}
	}
}
