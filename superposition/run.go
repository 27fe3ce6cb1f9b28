package superposition

import (
	"context"
	"fmt"
)

// Run is a set of instances being trained, advanced explicitly step by step.
// Train is the usual entry point; Run exists for benchmarks and for callers
// that interleave training with their own measurements.
type Run struct {
	cfg      Config
	trainers []*trainer
}

// NewRun initializes every instance (weights drawn from its seed).
func NewRun(cfg Config, instances []Instance) (*Run, error) {
	cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	r := &Run{cfg: cfg}
	for k := range instances {
		tr, err := newTrainer(&r.cfg, &instances[k])
		if err != nil {
			return nil, fmt.Errorf("run: instance %d: %w", k, err)
		}
		r.trainers = append(r.trainers, tr)
	}
	return r, nil
}

// Steps advances every instance by k optimizer steps, instances spread over
// the configured threads, and returns each instance's last batch loss.
func (r *Run) Steps(ctx context.Context, k int) ([]float64, error) {
	last := make([]float64, len(r.trainers))
	err := forEach(ctx, len(r.trainers), r.cfg.Threads, nil, func(i int) error {
		for s := 0; s < k; s++ {
			last[i] = r.trainers[i].step()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return last, nil
}

// Weights returns instance i's current weights.
func (r *Run) Weights(i int) Weights { return r.trainers[i].l.weights(r.trainers[i].p) }
