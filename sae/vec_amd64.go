//go:build !noasm

package sae

import "golang.org/x/sys/cpu"

// hasVecAsm reports whether the float32 vector kernels can use AVX2 and FMA
// (the cpu package also checks that the OS saves the YMM registers).
var hasVecAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func axpy32AVX2(a float32, x, y []float32)

//go:noescape
func dot32AVX2(x, y []float32) float32

//go:noescape
func axpy2x32AVX2(a float32, x, y []float32, b float32, u, v []float32)
