package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mechinterp/mechinterp/superposition"
)

// benchToy reproduces the "toy" workload of scripts/torch_ref.py: the
// ReLU-output toy model of superposition, `instances` instances of
// features->hidden trained at once with sparsity linspace(0, 0.99, I) and
// importance 0.9^i, AdamW lr 1e-3, batch `batch`; three warm-up steps, then
// `steps` timed steps. It returns torch_ref.py's JSON keys.
func benchToy(instances, features, hidden, batch, steps, threads int) (map[string]any, error) {
	if instances <= 0 || features <= 0 || hidden <= 0 || batch <= 0 || steps <= 0 || threads <= 0 {
		return nil, fmt.Errorf("bench toy: instances, features, hidden, batch, steps and threads must be positive")
	}
	imp := superposition.GeometricImportance(features, 0.9)
	ins := make([]superposition.Instance, instances)
	for i := range ins {
		s := 0.0
		if instances > 1 {
			s = 0.99 * float64(i) / float64(instances-1)
		}
		ins[i] = superposition.Instance{
			Data:       superposition.Distribution{Density: superposition.UniformDensity(features, 1-s)},
			Importance: imp,
			Seed:       uint64(i),
		}
	}
	cfg := superposition.Config{Kind: superposition.ReLUOutput, Features: features, Hidden: hidden,
		Batch: batch, Steps: steps, Threads: threads}
	run, err := superposition.NewRun(cfg, ins)
	if err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	ctx := context.Background()
	if _, err := run.Steps(ctx, 3); err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	start := time.Now()
	if _, err := run.Steps(ctx, steps); err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	dt := time.Since(start).Seconds() / float64(steps)
	return map[string]any{
		"workload":      "toy",
		"instances":     instances,
		"features":      features,
		"hidden":        hidden,
		"batch":         batch,
		"steps_per_s":   1 / dt,
		"samples_per_s": float64(batch*instances) / dt,
		"threads":       threads,
	}, nil
}
