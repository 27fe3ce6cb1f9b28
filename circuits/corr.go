package circuits

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Pearson is the Pearson correlation of x and y (NaN when either is constant).
func Pearson(x, y []float64) float64 { return stat.Correlation(x, y, nil) }

// Spearman is the Spearman rank correlation of x and y: the Pearson
// correlation of their ranks, ties given their mean rank.
func Spearman(x, y []float64) float64 { return stat.Correlation(ranks(x), ranks(y), nil) }

func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

// abs returns |x| elementwise.
func abs(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Abs(v)
	}
	return out
}
