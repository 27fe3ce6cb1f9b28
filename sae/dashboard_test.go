package sae

import (
	"math"
	"testing"
)

// TestUnitOf checks a unit's dashboard on hand-made activations: the top
// examples (one per context, highest first), the density count, and the
// entropy of their current tokens.
func TestUnitOf(t *testing.T) {
	const T = 4
	// Three contexts; the unit fires on token 7 twice and token 9 once.
	toks := []int{1, 7, 2, 3, 4, 5, 9, 6, 7, 0, 0, 0}
	col := []float64{0, 2, 0.5, 0, 0, 0, 3, 0, 1, 0, 0, 0}
	text := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	u := unitOf(0, col, toks, T, text, DashboardConfig{Top: 3, Window: 2})
	if u.Density != 4 || u.Max != 3 {
		t.Errorf("density count %v, max %v", u.Density, u.Max)
	}
	if len(u.Top) != 3 || u.Top[0].Value != 3 || u.Top[1].Value != 2 || u.Top[2].Value != 1 {
		t.Fatalf("top %+v", u.Top)
	}
	if e := u.Top[0]; e.Tokens[e.At] != 9 || e.Acts[e.At] != 3 {
		t.Errorf("top example %+v", e)
	}
	// Current tokens 9, 7, 7: entropy -(1/3 log2 1/3 + 2/3 log2 2/3).
	want := -(math.Log2(1.0/3)/3 + 2*math.Log2(2.0/3)/3)
	if math.Abs(float64(u.Entropy)-want) > 1e-12 || u.TopToken != "h" || math.Abs(u.TopShare-2.0/3) > 1e-12 {
		t.Errorf("entropy %v (want %v), top token %q share %v", u.Entropy, want, u.TopToken, u.TopShare)
	}
	total := 0
	for _, c := range u.HistCounts {
		total += c
	}
	if total != 4 || len(u.HistEdges) != len(u.HistCounts)+1 {
		t.Errorf("histogram %v over %v", u.HistCounts, u.HistEdges)
	}
	// With fewer contexts than Top, no entropy.
	if u := unitOf(0, col, toks, T, text, DashboardConfig{Top: 4, Window: 2}); !math.IsNaN(float64(u.Entropy)) {
		t.Errorf("entropy %v over 3 of 4 contexts", u.Entropy)
	}
}
