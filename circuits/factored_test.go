package circuits_test

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/mechinterp/mechinterp/circuits"
)

func randDense(rng *rand.Rand, r, c int) *mat.Dense {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return mat.NewDense(r, c, d)
}

// A factored matrix's eigenvalues, singular values and norm equal those of
// the full product, computed without the factors.
func TestFactoredMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, k, n int }{
		{8, 3, 8}, {12, 4, 12}, {5, 5, 5}, {10, 2, 7}, {3, 6, 3}, {6, 1, 6},
	} {
		f := circuits.Factored{A: randDense(rng, tc.m, tc.k), B: randDense(rng, tc.k, tc.n)}
		full := f.Full()
		if r, c := full.Dims(); r != tc.m || c != tc.n {
			t.Fatalf("%v: Full is %dx%d", tc, r, c)
		}
		if got, want := f.Norm(), mat.Norm(full, 2); !near(got, want, 1e-10*want) {
			t.Errorf("%v: Norm %g, full %g", tc, got, want)
		}
		var svd mat.SVD
		svd.Factorize(full, mat.SVDNone)
		want := svd.Values(nil)[:min(tc.m, tc.n, tc.k)]
		got := f.SingularValues()
		if len(got) != len(want) {
			t.Fatalf("%v: %d singular values, want %d", tc, len(got), len(want))
		}
		for i := range want {
			if !near(got[i], want[i], 1e-9*want[0]) {
				t.Errorf("%v: singular value %d = %g, full %g", tc, i, got[i], want[i])
			}
		}
		if tc.m != tc.n {
			if f.Eigenvalues() != nil {
				t.Errorf("%v: eigenvalues of a non-square product", tc)
			}
			continue
		}
		var eig mat.Eigen
		eig.Factorize(full, mat.EigenNone)
		fullEig := eig.Values(nil)
		// The full matrix has m-k extra (near-)zero eigenvalues when k < m.
		sort.Slice(fullEig, func(i, j int) bool { return cmplx.Abs(fullEig[i]) > cmplx.Abs(fullEig[j]) })
		fe := f.Eigenvalues()
		if len(fe) != tc.k {
			t.Fatalf("%v: %d eigenvalues, want k=%d", tc, len(fe), tc.k)
		}
		nonzero := fullEig[:min(tc.k, tc.m)]
		for _, w := range nonzero {
			best := math.Inf(1)
			for _, g := range fe {
				best = math.Min(best, cmplx.Abs(g-w))
			}
			if best > 1e-8*(1+cmplx.Abs(w)) {
				t.Errorf("%v: full eigenvalue %v not among the factored ones %v", tc, w, fe)
			}
		}
		if got, want := circuits.CopyingScore(fe), circuits.CopyingScore(fullEig); !near(got, want, 1e-8) {
			t.Errorf("%v: copying score %g from the factor, %g from the full matrix", tc, got, want)
		}
		// Transpose and product stay consistent with the full matrices.
		var tt mat.Dense
		tt.CloneFrom(full.T())
		if !mat.EqualApprox(f.T().Full(), &tt, 1e-10) {
			t.Errorf("%v: T().Full() != Full()^T", tc)
		}
		var prod mat.Dense
		prod.Mul(full, full)
		if !mat.EqualApprox(f.Mul(f).Full(), &prod, 1e-8) {
			t.Errorf("%v: Mul disagrees with the full product", tc)
		}
	}
}

func TestCopyingScore(t *testing.T) {
	for _, tc := range []struct {
		name string
		eig  []complex128
		want float64
	}{
		{"positive", []complex128{1, 2, 3}, 1},
		{"negative", []complex128{-1, -2}, -1},
		{"rotation", []complex128{1i, -1i}, 0},
		{"mixed", []complex128{3, -1}, 0.5},
		{"rotation plus identity", []complex128{1i, -1i, 1, 1}, 0.5},
		{"zero", []complex128{0, 0}, math.NaN()},
	} {
		if got := circuits.CopyingScore(tc.eig); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
}

// Composition of rank-one maps: ||v (o·q) k^T|| / (||v|| ||o|| ||q|| ||k||) = |cos(o, q)|.
func TestCompositionScoreRankOne(t *testing.T) {
	col := func(x ...float64) *mat.Dense { return mat.NewDense(len(x), 1, x) }
	row := func(x ...float64) *mat.Dense { return mat.NewDense(1, len(x), x) }
	for _, tc := range []struct {
		name string
		o, q []float64
		want float64
	}{
		{"orthogonal", []float64{1, 0, 0}, []float64{0, 1, 0}, 0},
		{"aligned", []float64{2, 0, 0}, []float64{5, 0, 0}, 1},
		{"45 degrees", []float64{1, 0, 0}, []float64{1, 1, 0}, 1 / math.Sqrt2},
	} {
		l := circuits.Factored{A: col(1, 2, 3), B: row(tc.o...)}
		r := circuits.Factored{A: col(tc.q...), B: row(0, 3, 4)}
		if got := circuits.CompositionScore(l, r); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
}
