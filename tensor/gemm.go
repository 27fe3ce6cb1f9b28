package tensor

import (
	"os"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and C is m×n; lda,
// ldb and ldc are the row strides of A, B and C as stored.
//
// Gemm is the single matrix-multiply seam of the project: every package
// multiplies through it, so replacing the kernel (see SetGemm) changes the
// speed of everything and the code of nothing.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmImpl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmFunc is the signature of a matrix-multiply kernel; see Gemm.
type GemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// gemmImpl is chosen once at start-up by MECHINTERP_GEMM ("fast", "generic"
// or "gonum"); unset, it is the packed kernel where its assembly
// micro-kernel runs, else gonum.
var gemmImpl GemmFunc = selectGemm(os.Getenv("MECHINTERP_GEMM"))

// SetGemm replaces the kernel behind Gemm and returns the previous one. It is
// meant for start-up and tests, not for concurrent use with Gemm.
func SetGemm(f GemmFunc) GemmFunc {
	old := gemmImpl
	gemmImpl = f
	return old
}

var gonumImpl gonum.Implementation

func gonumGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	if k == 0 {
		// gonum rejects k == 0; C = beta*C is the defined result (C is
		// overwritten when beta is 0, NaN or not).
		scaleC(m, n, beta, c, ldc)
		return
	}
	gonumImpl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
