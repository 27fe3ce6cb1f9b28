package models

import (
	"testing"

	"github.com/mechinterp/mechinterp/internal/gemmtest"
)

// TestGradientsEveryGemmPath reruns the finite-difference gradient checks
// under each kernel behind tensor.Gemm (golden_paths_test.go does the same
// for the PyTorch golden test).
func TestGradientsEveryGemmPath(t *testing.T) {
	gemmtest.EachPath(t, map[string]func(*testing.T){
		"backward_fd":  TestBackwardFiniteDifferences,
		"hook_grad_fd": TestHookGradientsFiniteDifferences,
	})
}
