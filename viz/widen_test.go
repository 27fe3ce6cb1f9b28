package viz

import (
	"strconv"
	"testing"
)

// TestWidenRoundEnds: an axis widened to show a marker line ends on numbers
// that print short (a y axis once read "0.6000000000000001").
func TestWidenRoundEnds(t *testing.T) {
	lo, hi, ok := widen(0.605, 0.75, []mark{{at: 0.84}}, false)
	if !ok {
		t.Fatal("not widened")
	}
	for _, v := range []float64{lo, hi} {
		if s := strconv.FormatFloat(v, 'g', -1, 64); len(s) > 5 {
			t.Errorf("axis end %s", s)
		}
	}
	if lo > 0.605 || hi < 0.84 {
		t.Errorf("range [%g, %g] does not cover the data and the mark", lo, hi)
	}
}
