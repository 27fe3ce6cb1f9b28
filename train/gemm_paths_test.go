package train

import (
	"testing"

	"github.com/mechinterp/mechinterp/internal/gemmtest"
)

// TestEveryGemmPath reruns the reference recipe's golden test under each
// kernel behind tensor.Gemm.
func TestEveryGemmPath(t *testing.T) {
	gemmtest.EachPath(t, map[string]func(*testing.T){"reference": TestReferenceRecipeGolden})
}
