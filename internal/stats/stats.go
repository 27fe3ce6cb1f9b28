// Package stats holds the summary statistics several analysis packages share.
package stats

import (
	"math"
	"sort"
)

// Mean is the arithmetic mean of x, NaN when x is empty (no value to summarise, which
// NaN-safe JSON writes as null).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Ranks are the ranks of x, 1 for the smallest, ties given their mean rank (what Spearman's
// correlation and the Mann-Whitney statistic rank by).
func Ranks(x []float64) []float64 {
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
