package superposition

import (
	"context"
	"fmt"
)

// Phase names of the phase diagrams of Elhage et al. 2022 ("Superposition as
// a Phase Change").
const (
	PhaseNotRepresented = "not represented"
	PhaseDedicated      = "dedicated dimension"
	PhaseSuperposition  = "superposition"
)

// PhaseConfig describes a phase diagram: Features features into Hidden
// dimensions (2 -> 1 or 3 -> 2 in the paper); every feature has importance 1
// except the last, the "extra" feature, whose relative importance runs over
// Importances; all features share the density, which runs over Densities.
type PhaseConfig struct {
	Features    int       `json:"features"`
	Hidden      int       `json:"hidden"`
	Importances []float64 `json:"importances"`
	Densities   []float64 `json:"densities"`
	Seeds       int       `json:"seeds"`
	Base        uint64    `json:"base_seed"`
	// Train is the training setup (Kind defaults to ReLUOutput).
	Train Config `json:"train"`
}

// PhaseResult is a phase diagram. Cells are indexed [density][importance].
type PhaseResult struct {
	Features    int        `json:"features"`
	Hidden      int        `json:"hidden"`
	Importances []float64  `json:"importances"`
	Densities   []float64  `json:"densities"`
	Phase       [][]string `json:"phase"`
	// PhaseCode is Phase as 0 (not represented), 1 (dedicated), 2
	// (superposition), for heatmaps.
	PhaseCode [][]int `json:"phase_code"`
	// ExtraNorm and ExtraInterference are ||W_extra|| and its interference
	// in the best seed; Loss its loss.
	ExtraNorm         [][]float64 `json:"extra_norm"`
	ExtraInterference [][]float64 `json:"extra_interference"`
	Loss              [][]float64 `json:"loss"`
	// Weights are the best seed's W per cell, for the small geometry
	// pictures of the paper.
	Weights [][][][]float64 `json:"weights"`
	// Theory and TheoryCode are the phases the paper's theoretical model
	// predicts per cell (TheoryPhase); Matches counts the cells whose
	// measured Phase equals it and Agreement is Matches over all cells
	// (CompareTheory). Empty for shapes the theory does not cover.
	Theory     [][]string `json:"theory,omitempty"`
	TheoryCode [][]int    `json:"theory_code,omitempty"`
	Matches    int        `json:"matches"`
	Agreement  float64    `json:"agreement"`
}

// ClassifyPhase names the phase of feature i in W: not represented when
// ||W_i|| < 0.5, a dedicated dimension when its interference is below 0.2
// (no other represented feature shares its direction), else superposition.
func ClassifyPhase(W [][]float64, i int) string {
	if FeatureNorms(W)[i] < IndividualNorm {
		return PhaseNotRepresented
	}
	if Interference(W)[i] < 0.2 {
		return PhaseDedicated
	}
	return PhaseSuperposition
}

// PhaseDiagram trains every (density, importance) cell with several seeds,
// keeps the lowest-loss seed and classifies the extra feature.
func PhaseDiagram(ctx context.Context, pc PhaseConfig, progress Progress) (*PhaseResult, error) {
	if pc.Features < 2 || pc.Hidden < 1 || len(pc.Importances) == 0 || len(pc.Densities) == 0 {
		return nil, fmt.Errorf("phase diagram: need features >= 2, hidden >= 1 and non-empty importances and densities")
	}
	seeds := max(pc.Seeds, 1)
	cfg := pc.Train
	cfg.Features, cfg.Hidden = pc.Features, pc.Hidden
	if cfg.Kind == "" {
		cfg.Kind = ReLUOutput
	}
	if cfg.Snapshots == nil {
		cfg.Snapshots = []int{}
	}
	var ins []Instance
	for a, p := range pc.Densities {
		for b, r := range pc.Importances {
			imp := UniformDensity(pc.Features, 1)
			imp[pc.Features-1] = r
			for k := 0; k < seeds; k++ {
				ins = append(ins, Instance{Label: fmt.Sprintf("1-S=%.3g I=%.3g seed %d", p, r, k),
					Data:       Distribution{Density: UniformDensity(pc.Features, p)},
					Importance: imp, Seed: pc.Base + uint64((a*len(pc.Importances)+b)*seeds+k)})
			}
		}
	}
	res, err := Train(ctx, cfg, ins, progress)
	if err != nil {
		return nil, fmt.Errorf("phase diagram: %w", err)
	}
	best := BestOfSeeds(res.Instances, seeds)
	out := &PhaseResult{Features: pc.Features, Hidden: pc.Hidden, Importances: pc.Importances, Densities: pc.Densities}
	extra := pc.Features - 1
	for a := range pc.Densities {
		var ph []string
		var code []int
		var nrm, itf, loss []float64
		var ws [][][]float64
		for b := range pc.Importances {
			ir := best[a*len(pc.Importances)+b]
			W := ir.Final.W
			p := ClassifyPhase(W, extra)
			ph = append(ph, p)
			code = append(code, phaseCode(p))
			nrm = append(nrm, FeatureNorms(W)[extra])
			itf = append(itf, Interference(W)[extra])
			loss = append(loss, ir.FinalLoss)
			ws = append(ws, W)
		}
		out.Phase = append(out.Phase, ph)
		out.PhaseCode = append(out.PhaseCode, code)
		out.ExtraNorm = append(out.ExtraNorm, nrm)
		out.ExtraInterference = append(out.ExtraInterference, itf)
		out.Loss = append(out.Loss, loss)
		out.Weights = append(out.Weights, ws)
	}
	if (pc.Features == 2 && pc.Hidden == 1) || (pc.Features == 3 && pc.Hidden == 2) {
		if err := CompareTheory(out); err != nil {
			return nil, fmt.Errorf("phase diagram: %w", err)
		}
	}
	return out, nil
}
