package superposition

import "math"

//go:noescape
func axpyAVX(a float64, x, y []float64)

//go:noescape
func dotAVX(x, y []float64) float64

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
var hasAVX2FMA = func() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, c, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c&fma == 0 || c&osxsave == 0 || c&avx == 0 {
		return false
	}
	if lo, _ := xgetbv(); lo&6 != 6 {
		return false
	}
	_, b, _, _ := cpuid(7, 0)
	return b&(1<<5) != 0
}()

// axpy adds a*x into y (len(y) >= len(x)).
func axpy(a float64, x, y []float64) {
	if hasAVX2FMA {
		if len(y) < len(x) {
			panic("axpy: y shorter than x")
		}
		axpyAVX(a, x, y)
		return
	}
	axpyGo(a, x, y)
}

// dot returns the inner product of x and y[:len(x)].
func dot(x, y []float64) float64 {
	if hasAVX2FMA {
		if len(y) < len(x) {
			panic("dot: y shorter than x")
		}
		return dotAVX(x, y)
	}
	return dotGo(x, y)
}

//go:noescape
func residualAVX(pre, x, g []float64, coef, floor float64) (loss, gsum float64, active int)

// residual is residualGo with AVX2: out = max(pre, floor) where floor is 0
// for ReLU and -Inf for the linear model.
func residual(pre, x, g []float64, coef float64, relu bool) (float64, float64, bool) {
	if !hasAVX2FMA {
		return residualGo(pre, x, g, coef, relu)
	}
	if len(x) < len(pre) || len(g) < len(pre) {
		panic("residual: short slices")
	}
	floor := math.Inf(-1)
	if relu {
		floor = 0
	}
	l, s, a := residualAVX(pre, x, g, coef, floor)
	return l, s, a != 0
}
