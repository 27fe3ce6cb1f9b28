package sae

import (
	"math"
	"unsafe"

	"github.com/mechinterp/mechinterp/tensor"
)

// The vector kernels of the sparse path (each active (row, latent) pair
// costs a few of them over the activation width d) are tensor's: Axpy32,
// Dot32 and Axpy2x32 for the float32 SAEs, Axpy64 and Dot64 for the toy
// models' float64 ones. These wrappers pick them by the trainer's element
// type.

// asF32 reinterprets a slice of a num of size 4 (float32 underneath).
func asF32[T num](v []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// asF64 reinterprets a slice of a num of size 8 (float64 underneath).
func asF64[T num](v []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// axpy is y += a x; x must be at least as long as y.
func axpy[T num](a T, x, y []T) {
	x = x[:len(y)]
	if unsafe.Sizeof(a) == 4 {
		tensor.Axpy32(*(*float32)(unsafe.Pointer(&a)), asF32(x), asF32(y))
		return
	}
	tensor.Axpy64(*(*float64)(unsafe.Pointer(&a)), asF64(x), asF64(y))
}

// axpy2 is y += a x and v += b u, in one pass (the sparse weight
// gradients); x, u and v must be at least as long as y.
func axpy2[T num](a T, x, y []T, b T, u, v []T) {
	x = x[:len(y)]
	if unsafe.Sizeof(a) == 4 {
		tensor.Axpy2x32(*(*float32)(unsafe.Pointer(&a)), asF32(x), asF32(y), *(*float32)(unsafe.Pointer(&b)), asF32(u), asF32(v))
		return
	}
	axpy(a, x, y)
	axpy(b, u[:len(y)], v[:len(y)])
}

// dot is Σ x_i y_i; y must be at least as long as x.
func dot[T num](x, y []T) T {
	var s T
	if unsafe.Sizeof(s) == 4 {
		*(*float32)(unsafe.Pointer(&s)) = tensor.Dot32(asF32(x), asF32(y))
	} else {
		*(*float64)(unsafe.Pointer(&s)) = tensor.Dot64(asF64(x), asF64(y))
	}
	return s
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
