package tensor

import "math"

// Axpy64 adds a*x into y[:len(x)]; y must be at least as long as x.
//
// The float64 vector kernels (Axpy64, Dot64, ClampedResidual64) serve the
// toy models of package superposition and the sparse autoencoders of package
// sae, which train in float64 with the batch as the inner dimension. On amd64
// with AVX2 and FMA they run four lanes at once in assembly, generated with
// the float32 kernels (Axpy32, Dot32) from one description in
// tensor/asm/vec.go; elsewhere, and under the noasm tag, plain
// Go computes the same sums (the two paths may differ in the last place,
// since the assembly fuses multiply-adds and sums in a different order).
func Axpy64(a float64, x, y []float64) {
	if hasF64Asm && len(x) >= f64AsmMin {
		if len(y) < len(x) {
			panic("tensor: Axpy64: y shorter than x")
		}
		axpy64AVX2(a, x, y)
		return
	}
	axpyGo(a, x, y)
}

// Dot64 returns the inner product of x and y[:len(x)]; y must be at least as
// long as x.
func Dot64(x, y []float64) float64 {
	if hasF64Asm && len(x) >= f64AsmMin {
		if len(y) < len(x) {
			panic("tensor: Dot64: y shorter than x")
		}
		return dot64AVX2(x, y)
	}
	return dotGo(x, y)
}

// ClampedResidual64 is the output stage of a squared-error loss on a
// prediction clamped from below. With out = max(pre, 0) when relu (out = pre
// otherwise) and d = out - x, it writes g[b] = coef*d[b] where pre[b] > 0
// (everywhere when !relu) and 0 elsewhere, and returns sum d^2, sum g and
// whether any g[b] was computed (a lane passed the clamp). x and g must be at
// least as long as pre.
func ClampedResidual64(pre, x, g []float64, coef float64, relu bool) (sse, gsum float64, active bool) {
	if !hasF64Asm {
		return clampedResidual64Go(pre, x, g, coef, relu)
	}
	if len(x) < len(pre) || len(g) < len(pre) {
		panic("tensor: ClampedResidual64: short slices")
	}
	floor := math.Inf(-1)
	if relu {
		floor = 0
	}
	l, s, a := clampedResidual64AVX2(pre, x, g, coef, floor)
	return l, s, a != 0
}

// f64AsmMin is the length below which Axpy64 and Dot64 stay in Go: the
// assembly's main loop takes 16 elements at a time, and on shorter vectors
// (an SAE on a 4-dimensional toy model) the call into assembly costs more
// than it saves.
const f64AsmMin = 16

func clampedResidual64Go(pre, x, g []float64, coef float64, relu bool) (sse, gsum float64, active bool) {
	x = x[:len(pre)]
	g = g[:len(pre)]
	for b, p := range pre {
		xv := x[b]
		if relu && p <= 0 {
			sse += xv * xv
			g[b] = 0
			continue
		}
		d := p - xv
		sse += d * d
		gv := coef * d
		g[b] = gv
		gsum += gv
		active = true
	}
	return sse, gsum, active
}
