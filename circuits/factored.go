package circuits

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// Factored is a low-rank matrix kept as the product A·B of its factors, A
// [m,k] and B [k,n], as TransformerLens's FactoredMatrix: a head's QK circuit
// W_Q W_K^T is [d_model, d_model] but has rank at most d_head, and everything
// asked of it (eigenvalues, singular values, norm) can be computed from k x k
// matrices (Elhage et al. 2021, "Thinking of QK and OV circuits as low-rank
// matrices").
type Factored struct {
	A, B *mat.Dense
}

// Dims returns the shape of the product, m x n.
func (f Factored) Dims() (m, n int) {
	m, _ = f.A.Dims()
	_, n = f.B.Dims()
	return m, n
}

// Inner returns k, the shared dimension of the factors.
func (f Factored) Inner() int {
	_, k := f.A.Dims()
	return k
}

// Full returns the product A·B as a dense matrix [m,n].
func (f Factored) Full() *mat.Dense {
	var out mat.Dense
	out.Mul(f.A, f.B)
	return &out
}

// T returns the transpose, B^T·A^T, still factored.
func (f Factored) T() Factored {
	return Factored{A: mat.DenseCopyOf(f.B.T()), B: mat.DenseCopyOf(f.A.T())}
}

// Mul returns the product f·g, factored with f's left factor: A_f · (B_f A_g B_g).
// The inner dimension stays f's k.
func (f Factored) Mul(g Factored) Factored {
	var ba, bab mat.Dense
	ba.Mul(f.B, g.A)
	bab.Mul(&ba, g.B)
	return Factored{A: f.A, B: &bab}
}

// Eigenvalues returns the eigenvalues of the k x k matrix B·A. For a square
// product A·B these are its non-zero eigenvalues, padded with zeros when the
// rank is below k (the non-zero eigenvalues of AB and BA coincide; Elhage et
// al. 2021). They come in no particular order. It returns nil when the product
// is not square or the eigendecomposition fails.
func (f Factored) Eigenvalues() []complex128 {
	m, n := f.Dims()
	if m != n {
		return nil
	}
	var ba mat.Dense
	ba.Mul(f.B, f.A)
	var eig mat.Eigen
	if !eig.Factorize(&ba, mat.EigenNone) {
		return nil
	}
	return eig.Values(nil)
}

// SingularValues returns the singular values of A·B in decreasing order,
// min(m, n, k) of them, computed from the small factor: with thin QR
// decompositions A = Q_a R_a and B^T = Q_b R_b, A·B = Q_a (R_a R_b^T) Q_b^T,
// and the k x k matrix R_a R_b^T has the same singular values. When k exceeds
// m or n the product itself is the smaller matrix and is used directly. It
// returns nil if the decomposition fails.
func (f Factored) SingularValues() []float64 {
	m, n := f.Dims()
	k := f.Inner()
	var core mat.Matrix
	if k > m || k > n {
		core = f.Full()
	} else {
		ra, rb := rFactor(f.A), rFactor(mat.DenseCopyOf(f.B.T()))
		var c mat.Dense
		c.Mul(ra, rb.T())
		core = &c
	}
	var svd mat.SVD
	if !svd.Factorize(core, mat.SVDNone) {
		return nil
	}
	s := svd.Values(nil)
	if len(s) > min(m, n, k) {
		s = s[:min(m, n, k)]
	}
	return s
}

// rFactor returns the k x k upper-triangular R of a thin QR decomposition of
// a tall matrix x [m,k], m >= k.
func rFactor(x *mat.Dense) *mat.Dense {
	_, k := x.Dims()
	var qr mat.QR
	qr.Factorize(x)
	var r mat.Dense
	qr.RTo(&r)
	return mat.DenseCopyOf(r.Slice(0, k, 0, k))
}

// Norm returns the Frobenius norm of A·B from k x k matrices:
// ||AB||_F^2 = tr(B^T A^T A B) = sum over i,j of (A^T A)_ij (B B^T)_ij.
func (f Factored) Norm() float64 {
	var ata, bbt mat.Dense
	ata.Mul(f.A.T(), f.A)
	bbt.Mul(f.B, f.B.T())
	return math.Sqrt(math.Max(0, frobDot(&ata, &bbt)))
}

// frobDot returns sum_ij x_ij y_ij for matrices of the same shape.
func frobDot(x, y *mat.Dense) float64 {
	r, c := x.Dims()
	var s float64
	for i := 0; i < r; i++ {
		xr, yr := x.RawRowView(i), y.RawRowView(i)
		for j := 0; j < c; j++ {
			s += xr[j] * yr[j]
		}
	}
	return s
}

// CopyingScore returns sum(λ)/sum(|λ|) over eigenvalues, the real part of
// the numerator (Elhage et al. 2021, "Copying / eigenvalue analysis"): +1 when
// every eigenvalue is positive (the circuit maps each direction onto itself,
// i.e. copies), -1 when every one is negative. NaN when all are zero.
func CopyingScore(eigenvalues []complex128) float64 {
	var sum complex128
	var abs float64
	for _, l := range eigenvalues {
		sum += l
		abs += cmplx.Abs(l)
	}
	if abs == 0 {
		return math.NaN()
	}
	return real(sum) / abs
}

// CompositionScore returns ||L·R||_F / (||L||_F ||R||_F), how much of what L
// writes R reads (Elhage et al. 2021, "Composition scores"), computed on the
// factors. L is the OV circuit of the earlier head; R is the QK circuit of the
// later head (Q-composition), its transpose (K-composition) or its OV circuit
// (V-composition). NaN when L or R is zero.
func CompositionScore(left, right Factored) float64 {
	return left.Mul(right).Norm() / (left.Norm() * right.Norm())
}
