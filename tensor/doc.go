// Package tensor holds the small float32 tensor every other package passes
// around (a flat row-major slice and a shape) and the one matrix-multiply seam,
// Gemm, through which all heavy arithmetic goes.
//
// Nothing here knows about models. Keeping the multiply behind one function
// lets a faster kernel replace gonum's blas32 without touching callers.
package tensor
