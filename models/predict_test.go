package models

import (
	"math"
	"testing"
)

func TestTopPredictions(t *testing.T) {
	row := []float32{1, 3, 2, 3}
	z := math.Exp(1) + 2*math.Exp(3) + math.Exp(2)
	for _, tc := range []struct {
		k    int
		want []int
	}{{2, []int{1, 3}}, {0, []int{1}}, {9, []int{1, 3, 2, 0}}} {
		got := TopPredictions(row, tc.k, nil)
		if len(got) != len(tc.want) {
			t.Fatalf("k=%d: %d predictions, want %d", tc.k, len(got), len(tc.want))
		}
		for i, p := range got {
			want := math.Exp(float64(row[tc.want[i]])) / z
			if p.Token != tc.want[i] || p.Logit != row[p.Token] || math.Abs(p.Prob-want) > 1e-15 || p.Text != "" {
				t.Errorf("k=%d: prediction %d = %+v, want token %d with p %.6f", tc.k, i, p, tc.want[i], want)
			}
		}
	}
}
