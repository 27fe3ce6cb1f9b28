package stats

import (
	"math"
	"slices"
	"testing"
)

func TestMean(t *testing.T) {
	if got := Mean([]float64{1, 2, 6}); got != 3 {
		t.Errorf("Mean(1, 2, 6) = %g, want 3", got)
	}
	if got := Mean(nil); !math.IsNaN(got) {
		t.Errorf("Mean(nil) = %g, want NaN", got)
	}
}

func TestRanks(t *testing.T) {
	if got, want := Ranks([]float64{3, 1, 3, 2, 3}), []float64{4, 1, 4, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("Ranks = %v, want %v (ties at ranks 3, 4, 5 share 4)", got, want)
	}
}
