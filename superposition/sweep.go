package superposition

import (
	"context"
	"fmt"
	"math"
)

// LogSpace returns count values from a to b evenly spaced in log scale.
func LogSpace(a, b float64, count int) []float64 {
	if count == 1 {
		return []float64{a}
	}
	out := make([]float64, count)
	for j := range out {
		out[j] = math.Exp(math.Log(a) + (math.Log(b)-math.Log(a))*float64(j)/float64(count-1))
	}
	return out
}

// SweepPoint is the best-of-seeds instance at one density of a sparsity sweep.
type SweepPoint struct {
	// Density is 1-S; InvDensity = 1/(1-S), the x axis of Elhage et al.
	// 2022's D* plot.
	Density    float64 `json:"density"`
	InvDensity float64 `json:"inv_density"`
	// SeedLosses are the final losses of every seed at this density.
	SeedLosses []float64 `json:"seed_losses"`
	// MeanVulnerability is the mean of Vulnerability over the individually
	// represented features (Best.Individual).
	MeanVulnerability float64  `json:"mean_vulnerability"`
	Best              Analysis `json:"best"`
}

// SweepResult is a sparsity sweep: one model shape, one importance schedule,
// many densities (Elhage et al. 2022, "The Geometry of Superposition").
type SweepResult struct {
	Kind       Kind         `json:"kind"`
	Features   int          `json:"features"`
	Hidden     int          `json:"hidden"`
	Importance []float64    `json:"importance"`
	Seeds      int          `json:"seeds"`
	Points     []SweepPoint `json:"points"`
	// StickyFractions are the reference lines of the D_i scatter.
	StickyFractions []float64 `json:"sticky_fractions"`
}

// SparsitySweep trains seeds instances at each density (uniform across
// features) and keeps the lowest-loss one per density. cfg.Kind, Features and
// Hidden give the model; seed k of density j uses seed base+j*seeds+k.
func SparsitySweep(ctx context.Context, cfg Config, importance, densities []float64, seeds int, base uint64, progress Progress) (*SweepResult, error) {
	seeds = max(seeds, 1)
	var ins []Instance
	for j, p := range densities {
		for k := 0; k < seeds; k++ {
			ins = append(ins, Instance{Label: fmt.Sprintf("1-S=%.4g seed %d", p, k),
				Data:       Distribution{Density: UniformDensity(cfg.Features, p)},
				Importance: importance, Seed: base + uint64(j*seeds+k)})
		}
	}
	res, err := Train(ctx, cfg, ins, progress)
	if err != nil {
		return nil, fmt.Errorf("sparsity sweep: %w", err)
	}
	out := &SweepResult{Kind: res.Config.Kind, Features: cfg.Features, Hidden: cfg.Hidden, Importance: importance, Seeds: seeds}
	for _, s := range StickyFractions {
		out.StickyFractions = append(out.StickyFractions, s.Value)
	}
	best := BestOfSeeds(res.Instances, seeds)
	for j, p := range densities {
		pt := SweepPoint{Density: p, InvDensity: 1 / p, Best: Analyze(res.Config.Kind, best[j])}
		for k := 0; k < seeds; k++ {
			pt.SeedLosses = append(pt.SeedLosses, res.Instances[j*seeds+k].FinalLoss)
		}
		var vs float64
		for i, nv := range pt.Best.Norms {
			if nv >= IndividualNorm {
				vs += pt.Best.Vulnerability[i]
			}
		}
		if pt.Best.Individual > 0 {
			pt.MeanVulnerability = vs / float64(pt.Best.Individual)
		}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}
