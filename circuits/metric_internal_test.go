package circuits

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestMetricGradients checks each metric's logit gradient against central
// differences of its value.
func TestMetricGradients(t *testing.T) {
	row := []float32{0.3, -1.2, 2.0, 0.1, -0.4}
	clean := tensor.LogSoftmax([]float32{1.0, 0.2, -0.5, 0.7, 0.0})
	for _, mt := range Metrics {
		g := make([]float32, len(row))
		mt.grad(g, row, clean, 2, 0, 1)
		for i := range row {
			const h = 1e-3
			r := append([]float32(nil), row...)
			r[i] += h
			up := mt.value(r, clean, 2, 0)
			r[i] -= 2 * h
			down := mt.value(r, clean, 2, 0)
			if num := (up - down) / (2 * h); math.Abs(num-float64(g[i])) > 1e-3 {
				t.Errorf("%s: d/dlogit[%d] analytic %.6g, numeric %.6g", mt, i, g[i], num)
			}
		}
	}
}
