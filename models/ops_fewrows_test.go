package models

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestProductPaths checks the products the forward pass takes for few rows
// (gemmFewRows, with and without a transposed weight, split across cores)
// and for a transposed weight in blocks (gemmTransWBlocked, several blocks
// and a ragged last one) against tensor.Gemm on the same operands.
func TestProductPaths(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(4, 4))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, s := range []struct{ N, O, I int }{{1, 70, 9}, {8, 768, 256}, {32, 100, 33}, {33, 130, 17}, {128, 1000, 64}} {
			x, w := fill(s.N*s.I), fill(s.O*s.I)
			for _, transW := range []bool{false, true} {
				ldw := s.O
				if transW {
					ldw = s.I
				}
				want := make([]float32, s.N*s.O)
				tensor.Gemm(false, transW, s.N, s.O, s.I, 1, x, s.I, w, ldw, 0, want, s.O)
				got := make([]float32, s.N*s.O)
				gemmFewRows(transW, s.N, s.O, s.I, x, s.I, w, ldw, got, s.O, nil, nil)
				near(t, "gemmFewRows", procs, s, transW, got, want)
				if transW {
					clear(got)
					gemmTransWBlocked(s.N, s.O, s.I, x, s.I, w, ldw, got, s.O, make([]float32, s.N*40))
					near(t, "gemmTransWBlocked", procs, s, transW, got, want)
				}
			}
		}
	}
}

func near(t *testing.T, what string, procs int, s struct{ N, O, I int }, transW bool, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s %v transW=%v procs=%d: [%d] = %g, want %g", what, s, transW, procs, i, got[i], want[i])
		}
	}
}
