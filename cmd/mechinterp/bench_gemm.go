package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mechinterp/mechinterp/tensor"
)

// benchGemm times C = A·B (op(A) m×k, op(B) k×n, row-major, alpha 1, beta 0)
// through tensor.Gemm, the seam every model multiply goes through, and
// reports GFLOP/s (2mnk per multiply). MECHINTERP_GEMM picks the kernel, so
// the same command measures the packed kernel, its portable micro-kernel and
// gonum; scripts/gemm_openblas.py prints the same keys for OpenBLAS.
func benchGemm(m, n, k int, transA, transB bool, reps, threads int) (map[string]any, error) {
	if m <= 0 || n <= 0 || k <= 0 || reps <= 0 {
		return nil, fmt.Errorf("bench gemm: --m, --n, --k and --steps must be positive")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	a, b, c := fill(m*k), fill(k*n), make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	run := func() { tensor.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n) }
	// Warm up, then repeat until at least reps multiplies and 0.2 s have
	// passed, so that small sizes are not timer noise.
	for range 3 {
		run()
	}
	start, done := time.Now(), 0
	for done < reps || time.Since(start) < 200*time.Millisecond {
		run()
		done++
	}
	dt := time.Since(start).Seconds() / float64(done)
	impl := os.Getenv("MECHINTERP_GEMM")
	if impl == "" {
		impl = "default"
	}
	return map[string]any{
		"workload": "gemm", "impl": impl, "m": m, "n": n, "k": k,
		"trans_a": transA, "trans_b": transB, "threads": threads,
		"gflops": 2 * float64(m) * float64(n) * float64(k) / dt / 1e9, "ms_per_op": dt * 1e3,
	}, nil
}
