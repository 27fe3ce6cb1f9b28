package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the reference every kernel is checked against.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestGemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		m, n, k     int
		tA, tB      bool
		alpha, beta float32
		padA, padB  int
	}{
		{1, 1, 1, false, false, 1, 0, 0, 0},
		{7, 5, 3, false, false, 1, 0, 0, 0},
		{7, 5, 3, true, false, 0.5, 1, 0, 0},
		{7, 5, 3, false, true, 1, -2, 2, 1},
		{33, 17, 65, true, true, 2, 0.25, 3, 0},
		{64, 64, 64, false, false, 1, 1, 0, 0},
		{5, 9, 0, false, false, 1, 0.5, 0, 0},
	}
	for _, tc := range cases {
		rowsA, colsA := tc.m, tc.k
		if tc.tA {
			rowsA, colsA = tc.k, tc.m
		}
		rowsB, colsB := tc.k, tc.n
		if tc.tB {
			rowsB, colsB = tc.n, tc.k
		}
		lda, ldb := colsA+tc.padA, colsB+tc.padB
		a := randSlice(rng, rowsA*lda+1)
		b := randSlice(rng, rowsB*ldb+1)
		c := randSlice(rng, tc.m*tc.n)
		want := append([]float32(nil), c...)
		naiveGemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, tc.n)
		Gemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, tc.n)
		for i := range c {
			if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%+v: c[%d]=%g want %g", tc, i, c[i], want[i])
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestTensorBasics(t *testing.T) {
	x := New(2, 3)
	x.Set(5, 1, 2)
	if x.At(1, 2) != 5 || x.Data[5] != 5 {
		t.Fatalf("Set/At disagree: %v", x.Data)
	}
	if _, err := FromSlice(make([]float32, 5), 2, 3); err == nil {
		t.Fatal("FromSlice accepted 5 values for shape [2,3]")
	}
	if ShapeString([]int{2, 3}) != "[2,3]" {
		t.Fatal(ShapeString([]int{2, 3}))
	}
}
