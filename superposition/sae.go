package superposition

import (
	"context"
	"fmt"

	"github.com/mechinterp/mechinterp/sae"
)

// SAEExperiment is a toy model and the SAEs trained on its hidden
// activations.
type SAEExperiment struct {
	Toy Analysis `json:"toy"`
	// TrueFeatures are the directions W_i of the represented toy features.
	TrueFeatures [][]float64  `json:"true_features"`
	Runs         []sae.Result `json:"runs"`
}

func runSAE(ctx context.Context, tc Config, imp []float64, cfg ExperimentConfig, progress Progress) (*SAEExperiment, error) {
	p := cfg.Densities[0]
	seeds := max(cfg.Seeds, 1)
	var ins []Instance
	for k := 0; k < seeds; k++ {
		ins = append(ins, Instance{Label: fmt.Sprintf("toy 1-S=%.3g", p), Data: Distribution{Density: UniformDensity(cfg.Features, p)},
			Importance: imp, Seed: cfg.BaseSeed + uint64(k)})
	}
	res, err := Train(ctx, tc, ins, nil)
	if err != nil {
		return nil, err
	}
	best := BestOfSeeds(res.Instances, seeds)[0]
	exp := &SAEExperiment{Toy: Analyze(res.Config.Kind, best)}
	for i, nv := range exp.Toy.Norms {
		if nv >= 0.5 {
			exp.TrueFeatures = append(exp.TrueFeatures, exp.Toy.W[i])
		}
	}
	rowsN := cfg.SAERows
	if rowsN == 0 {
		rowsN = 50000
	}
	acts, err := HiddenActivations(res.Config.Kind, best.Final, best.Instance.Data, rowsN, cfg.BaseSeed+99991)
	if err != nil {
		return nil, err
	}
	type job struct {
		l1 float64
		f  int
	}
	var jobs []job
	for _, f := range cfg.SAEDictSizes {
		for _, l1 := range cfg.SAEL1 {
			jobs = append(jobs, job{l1, f})
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("sae_l1 and sae_dict_sizes must not be empty")
	}
	exp.Runs = make([]sae.Result, len(jobs))
	err = forEach(ctx, len(jobs), cfg.Threads, progress, func(j int) error {
		r, err := sae.Train(ctx, acts, cfg.Hidden, sae.Config{DictSize: jobs[j].f, L1: jobs[j].l1, Steps: cfg.SAESteps,
			Batch: cfg.SAEBatch, LR: cfg.SAELR, Seed: cfg.BaseSeed + uint64(j)}, exp.TrueFeatures)
		if err != nil {
			return err
		}
		exp.Runs[j] = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// HiddenActivations samples rows inputs from data and returns the model's
// hidden activations as a row-major [rows, m] matrix: the activations an SAE
// is trained on.
func HiddenActivations(kind Kind, w Weights, data Distribution, rows int, seed uint64) ([]float64, error) {
	xs, err := data.Sample(rows, seed)
	if err != nil {
		return nil, err
	}
	m := len(w.W[0])
	out := make([]float64, 0, rows*m)
	for _, x := range xs {
		out = append(out, Hidden(kind, w, x)...)
	}
	return out, nil
}
