package models_test

import (
	"testing"

	"github.com/mechinterp/mechinterp/internal/gemmtest"
)

// TestGoldenEveryGemmPath reruns the PyTorch golden test under each kernel
// behind tensor.Gemm.
func TestGoldenEveryGemmPath(t *testing.T) {
	gemmtest.EachPath(t, map[string]func(*testing.T){"golden": TestGolden})
}
