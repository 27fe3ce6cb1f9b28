//go:build !amd64 || noasm

package tensor

const hasF32Asm = false

func axpy32AVX2(a float32, x, y []float32) { panic("unreachable") }

func dot32AVX2(x, y []float32) float32 { panic("unreachable") }

func axpy2x32AVX2(a float32, x, y []float32, b float32, u, v []float32) { panic("unreachable") }
