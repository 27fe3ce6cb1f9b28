package sae

import (
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// MMCS is the mean max cosine similarity between true feature directions and
// dictionary atoms, mean over g of max over d of cos(g, d) (Sharkey et al.
// 2022): 1 when every true feature has an exactly aligned atom. It also
// returns each true feature's best cosine.
func MMCS(truth, atoms [][]float64) (float64, []float64) {
	best := make([]float64, len(truth))
	if len(truth) == 0 {
		return 0, best
	}
	var sum float64
	for g, t := range truth {
		tn := math.Sqrt(tensor.Dot64(t, t))
		b := math.Inf(-1)
		for _, a := range atoms {
			an := math.Sqrt(tensor.Dot64(a, a))
			if tn == 0 || an == 0 {
				continue
			}
			b = math.Max(b, tensor.Dot64(t, a)/(tn*an))
		}
		if math.IsInf(b, -1) {
			b = 0
		}
		best[g] = b
		sum += b
	}
	return sum / float64(len(truth)), best
}

// Histogram is a histogram of log10 feature firing frequency.
type Histogram struct {
	// Edges has len(Counts)+1 bin edges in log10(frequency).
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
	// Never counts features that never fired (log10 = -Inf): Result.Dead.
	Never int `json:"never"`
}

// DensityHistogram bins log10 of the feature firing frequencies into bins
// equal bins from lo to 0 (Bricken et al. 2023, "feature density"
// histograms); frequencies of 0 are counted in Never, and frequencies below
// 10^lo go in the first bin.
func DensityHistogram(density []float64, bins int, lo float64) Histogram {
	h := Histogram{Edges: make([]float64, bins+1), Counts: make([]int, bins)}
	for j := range h.Edges {
		h.Edges[j] = lo + (0-lo)*float64(j)/float64(bins)
	}
	for _, p := range density {
		if p <= 0 {
			h.Never++
			continue
		}
		b := int((math.Log10(p) - lo) / (0 - lo) * float64(bins))
		h.Counts[min(max(b, 0), bins-1)]++
	}
	return h
}
