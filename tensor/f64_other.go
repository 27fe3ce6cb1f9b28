//go:build !amd64 || noasm

package tensor

const hasF64Asm = false

func axpy64AVX2(a float64, x, y []float64) { panic("unreachable") }

func dot64AVX2(x, y []float64) float64 { panic("unreachable") }

func clampedResidual64AVX2(pre, x, g []float64, coef, floor float64) (sse, gsum float64, active int) {
	panic("unreachable")
}
