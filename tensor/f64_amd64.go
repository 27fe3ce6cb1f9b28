//go:build !noasm

package tensor

import "golang.org/x/sys/cpu"

// hasF64Asm reports whether the float64 kernels can use AVX2 and FMA (the
// cpu package also checks that the OS saves the YMM registers).
var hasF64Asm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func axpy64AVX2(a float64, x, y []float64)

//go:noescape
func dot64AVX2(x, y []float64) float64

//go:noescape
func clampedResidual64AVX2(pre, x, g []float64, coef, floor float64) (sse, gsum float64, active int)
