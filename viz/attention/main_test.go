package attention

import (
	"testing"

	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/browsertest"
)

// TestMain stops the one browser that the page tests of this binary share.
func TestMain(m *testing.M) { browsertest.Main(m) }

func mustHTML(t *testing.T, r *viz.Report) string {
	t.Helper()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
