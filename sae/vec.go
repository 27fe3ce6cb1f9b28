package sae

import (
	"math"
	"unsafe"
)

// The vector kernels of the sparse path (each active (row, latent) pair
// costs a few of them over the activation width d): on amd64 with AVX2
// and FMA the float32 ones run eight lanes at once in assembly
// (vec_amd64.s), as tensor's float64 kernels do; float64 and short
// vectors stay in Go, so that the toy models' float64 SAEs train bit for
// bit as before. The assembly fuses multiply-adds and sums in another
// order, so the two may differ in the last place. (They are tensor's
// Axpy64/Dot64 in float32; their place is beside those, in tensor, where
// they can move when another package needs them.)

// vecAsmMin is the length from which the float32 kernels go to assembly,
// whose main loop takes 32 elements at a time.
const vecAsmMin = 32

// asF32 reinterprets a slice of a num of size 4 (float32 underneath).
func asF32[T num](v []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// axpy is y += a x; x must be at least as long as y.
func axpy[T num](a T, x, y []T) {
	x = x[:len(y)]
	if unsafe.Sizeof(a) == 4 && hasVecAsm && len(y) >= vecAsmMin {
		axpy32AVX2(*(*float32)(unsafe.Pointer(&a)), asF32(x), asF32(y))
		return
	}
	axpyGo(a, x, y)
}

func axpyGo[T num](a T, x, y []T) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// axpy2 is y += a x and v += b u, in one pass (the sparse weight
// gradients); x, u and v must be at least as long as y.
func axpy2[T num](a T, x, y []T, b T, u, v []T) {
	x, u, v = x[:len(y)], u[:len(y)], v[:len(y)]
	if unsafe.Sizeof(a) == 4 && hasVecAsm && len(y) >= vecAsmMin {
		axpy2x32AVX2(*(*float32)(unsafe.Pointer(&a)), asF32(x), asF32(y), *(*float32)(unsafe.Pointer(&b)), asF32(u), asF32(v))
		return
	}
	axpyGo(a, x, y)
	axpyGo(b, u, v)
}

// dot is Σ x_i y_i; y must be at least as long as x.
func dot[T num](x, y []T) T {
	var zero T
	if unsafe.Sizeof(zero) == 4 && hasVecAsm && len(x) >= vecAsmMin {
		y = y[:len(x)]
		s := dot32AVX2(asF32(x), asF32(y))
		return *(*T)(unsafe.Pointer(&s))
	}
	return dotGo(x, y)
}

// dotGo accumulates in four partial sums.
func dotGo[T num](x, y []T) T {
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

// maskAdd sets dz[k] = dz[k] + c where f[k] != 0 and 0 where f[k] == 0
// (ReLU's ∂pre on the dense path, f = ReLU(pre) >= 0). Half of a fresh
// SAE's latents fire, at random: a branch per entry mispredicts half the
// time, so float32 selects through a mask of f's bits instead.
func maskAdd[T num](dz, f []T, c T) {
	f = f[:len(dz)]
	if unsafe.Sizeof(c) == 4 {
		d32, f32, c32 := asF32(dz), asF32(f), *(*float32)(unsafe.Pointer(&c))
		for k, v := range f32 {
			b := math.Float32bits(v) &^ (1 << 31) // -0 is 0
			m := uint32(int32(b|-b) >> 31)        // all ones when b != 0
			d32[k] = math.Float32frombits(math.Float32bits(d32[k]+c32) & m)
		}
		return
	}
	for k, v := range f {
		if v == 0 {
			dz[k] = 0
		} else {
			dz[k] += c
		}
	}
}
