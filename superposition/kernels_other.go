//go:build !amd64

package superposition

const hasAVX2FMA = false

func axpy(a float64, x, y []float64) { axpyGo(a, x, y) }

func dot(x, y []float64) float64 { return dotGo(x, y) }

func residual(pre, x, g []float64, coef float64, relu bool) (float64, float64, bool) {
	return residualGo(pre, x, g, coef, relu)
}
