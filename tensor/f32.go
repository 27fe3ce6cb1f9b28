package tensor

// The float32 vector kernels (Axpy32, Dot32, Axpy2x32) serve the sparse path
// of package sae's float32 SAEs: each active (row, latent) pair costs a few
// of them over the activation width. They are the float64 kernels' twins,
// generated from the same description (tensor/asm/vec.go): on amd64 with
// AVX2 and FMA eight lanes run at once in assembly from f32AsmMin elements
// on; elsewhere, below that length and under the noasm tag plain Go computes
// the same sums (the two paths may differ in the last place, since the
// assembly fuses multiply-adds and sums in a different order).

// f32AsmMin is the length from which the float32 kernels go to assembly,
// whose main loop takes 32 elements at a time.
const f32AsmMin = 32

// Axpy32 adds a*x into y[:len(x)]; y must be at least as long as x.
func Axpy32(a float32, x, y []float32) {
	y = y[:len(x)]
	if hasF32Asm && len(x) >= f32AsmMin {
		axpy32AVX2(a, x, y)
		return
	}
	axpyGo(a, x, y)
}

// Axpy2x32 adds a*x into y and b*u into v, over len(x) elements in one pass
// (the two weight gradients of one sparse pair); y, u and v must be at least
// as long as x.
func Axpy2x32(a float32, x, y []float32, b float32, u, v []float32) {
	y, u, v = y[:len(x)], u[:len(x)], v[:len(x)]
	if hasF32Asm && len(x) >= f32AsmMin {
		axpy2x32AVX2(a, x, y, b, u, v)
		return
	}
	axpyGo(a, x, y)
	axpyGo(b, u, v)
}

// Dot32 returns the inner product of x and y[:len(x)]; y must be at least as
// long as x.
func Dot32(x, y []float32) float32 {
	y = y[:len(x)]
	if hasF32Asm && len(x) >= f32AsmMin {
		return dot32AVX2(x, y)
	}
	return dotGo(x, y)
}

// axpyGo is the Go twin of Axpy32 and Axpy64: y[i] += a*x[i] for i <
// len(x).
func axpyGo[T float32 | float64](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// dotGo is the Go twin of Dot32 and Dot64: four partial sums, as the
// assembly keeps four accumulators (so that the loop is not one long
// dependency chain), added pairwise as the assembly adds them.
func dotGo[T float32 | float64](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
