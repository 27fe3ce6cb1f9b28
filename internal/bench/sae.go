package bench

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/sae"
)

// SAE times sparse-autoencoder training as `torch_ref.py sae` does: Adam,
// decoder columns renormalised after each step, batches of batch rows from
// 16 batches of standard normal activations of width dIn; TopK with k > 0,
// else ReLU + L1 with coefficient l1. It returns torch_ref.py's JSON keys.
//
// A fresh SAE's pre-activations on this data are near standard normal, so
// half its ReLU latents fire, where L1 training leaves a few dozen of
// thousands: l0 > 0 starts b_e at -Φ⁻¹(1 - l0/dSAE), so that l0 latents of
// each row fire from the first step, the code of a trained ReLU SAE (l0 0:
// b_e = 0). The JSON's "l0" is the measured mean over the timed steps.
func SAE(dIn, dSAE, batch, k int, l1, l0 float64, steps, threads int) (map[string]any, error) {
	if dIn <= 0 || dSAE <= 0 || batch <= 0 || k < 0 || !(l1 >= 0) || steps <= 0 || steps > MaxSteps || threads <= 0 {
		return nil, fmt.Errorf("bench sae: d-in, d-sae, batch and threads must be positive, k and l1 not negative, steps in [1, %d]", MaxSteps)
	}
	if !(l0 >= 0 && l0 < float64(dSAE)) {
		return nil, fmt.Errorf("bench sae: --l0 %v is not in [0, --d-sae)", l0)
	}
	if batch > sae.MaxBatch || dSAE > sae.MaxDictSize || int64(dIn)*int64(dSAE) > sae.MaxParams {
		return nil, fmt.Errorf("bench sae: --d-in %d --d-sae %d --batch %d: over the SAE's bounds", dIn, dSAE, batch)
	}
	need := 4 * (16*float64(batch)*float64(dIn) + 16*float64(dIn)*float64(dSAE) + float64(batch)*float64(dSAE))
	if err := memory.Check(need); err != nil {
		return nil, fmt.Errorf("bench sae: --d-in %d --d-sae %d --batch %d %w", dIn, dSAE, batch, err)
	}
	r := seed.New(0)
	acts := make([]float32, 16*batch*dIn)
	for i := range acts {
		acts[i] = float32(r.NormFloat64())
	}
	cfg := sae.Config{DictSize: dSAE, Batch: batch, Steps: steps, LR: 4e-4, L1: l1, EvalRows: 1}
	if k > 0 {
		cfg.Architecture, cfg.K = sae.TopK, k
	}
	var bias float64
	if l0 > 0 {
		bias = -distuv.UnitNormal.Quantile(1 - l0/float64(dSAE))
	}
	tm, err := sae.TimeSteps(context.Background(), acts, dIn, cfg, bias)
	if err != nil {
		return nil, fmt.Errorf("bench sae: %w", err)
	}
	dt := tm.SecondsPerStep
	return map[string]any{"workload": "sae", "d_in": dIn, "d_sae": dSAE, "batch": batch, "k": k, "l0": tm.L0,
		"activations_per_s": float64(batch) / dt, "ms_per_step": dt * 1e3, "threads": threads}, nil
}
