// Package stats holds the summary statistics several analysis packages share.
package stats

import "math"

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
