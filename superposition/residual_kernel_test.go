package superposition

import (
	"math"
	"testing"
)

func TestResidualKernel(t *testing.T) {
	r := newRNG(3)
	for _, n := range []int{1, 3, 4, 7, 64, 1023} {
		for _, relu := range []bool{true, false} {
			pre := make([]float64, n)
			x := make([]float64, n)
			for i := range pre {
				pre[i] = r.norm()
				x[i] = r.float()
			}
			g1 := make([]float64, n)
			g2 := make([]float64, n)
			l1, s1, a1 := residual(pre, x, g1, 0.3, relu)
			l2, s2, a2 := residualGo(pre, x, g2, 0.3, relu)
			if math.Abs(l1-l2) > 1e-9 || math.Abs(s1-s2) > 1e-9 || a1 != a2 {
				t.Fatalf("n=%d relu=%v: %v %v %v vs %v %v %v", n, relu, l1, s1, a1, l2, s2, a2)
			}
			for i := range g1 {
				if math.Abs(g1[i]-g2[i]) > 1e-12 {
					t.Fatalf("g[%d] %v vs %v", i, g1[i], g2[i])
				}
			}
		}
	}
}
