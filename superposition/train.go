package superposition

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/sae"
)

// Snapshot is an instance's weights after Step optimizer steps.
type Snapshot struct {
	Step int `json:"step"`
	Weights
}

// InstanceResult is what training one instance produced.
type InstanceResult struct {
	Instance Instance `json:"instance"`
	// LossSteps and Loss are the training-loss curve: Loss[j] is the mean
	// batch loss over the LogEvery steps ending at LossSteps[j].
	LossSteps []int     `json:"loss_steps"`
	Loss      []float64 `json:"loss"`
	// FinalLoss is the loss of the final weights on the held-out batch.
	FinalLoss float64    `json:"final_loss"`
	Final     Weights    `json:"final"`
	Snapshots []Snapshot `json:"snapshots,omitempty"`
}

// TrainResult holds every instance of one training run, in input order.
type TrainResult struct {
	Config    Config           `json:"config"`
	Instances []InstanceResult `json:"instances"`
}

// ErrNaN reports a training run whose loss stopped being finite. It is
// sae.ErrNaN, so that one errors.Is covers the toy models and the SAEs of
// the "sae" experiment.
var ErrNaN = sae.ErrNaN

// Progress, when non-nil, is called after each instance finishes with the
// number done so far and the total. Calls are serialized.
type Progress func(done, total int)

// Train trains every instance for cfg.Steps steps, spreading instances over
// cfg.Threads goroutines. Each instance is deterministic given its seed,
// whatever the thread count. It stops early with ctx's error when ctx is
// cancelled and with ErrNaN when a loss becomes non-finite.
func Train(ctx context.Context, cfg Config, instances []Instance, progress Progress) (*TrainResult, error) {
	cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	trainers := make([]*trainer, len(instances))
	for k := range instances {
		tr, err := newTrainer(&cfg, &instances[k])
		if err != nil {
			return nil, fmt.Errorf("train: instance %d: %w", k, err)
		}
		trainers[k] = tr
	}
	snaps := map[int]bool{}
	for _, s := range cfg.Snapshots {
		snaps[s] = true
	}
	res := &TrainResult{Config: cfg, Instances: make([]InstanceResult, len(instances))}
	err := forEach(ctx, len(instances), cfg.Threads, progress, func(k int) error {
		res.Instances[k].Instance = instances[k]
		return trainers[k].run(ctx, k, snaps, &res.Instances[k])
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return res, nil
}

// run trains instance k for its config's Steps, recording the loss curve,
// the snapshots at the steps in snaps, the final weights and their held-out
// loss in out.
func (tr *trainer) run(ctx context.Context, k int, snaps map[int]bool, out *InstanceResult) error {
	cfg := tr.cfg
	if snaps[0] {
		out.Snapshots = append(out.Snapshots, Snapshot{Step: 0, Weights: tr.l.weights(tr.p)})
	}
	var acc float64
	var cnt int
	for s := 1; s <= cfg.Steps; s++ {
		if s%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		l := tr.step()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("instance %d step %d: %w", k, s, ErrNaN)
		}
		acc += l
		cnt++
		if s%cfg.LogEvery == 0 || s == cfg.Steps {
			out.LossSteps = append(out.LossSteps, s)
			out.Loss = append(out.Loss, acc/float64(cnt))
			acc, cnt = 0, 0
		}
		if snaps[s] {
			out.Snapshots = append(out.Snapshots, Snapshot{Step: s, Weights: tr.l.weights(tr.p)})
		}
	}
	out.Final = tr.l.weights(tr.p)
	out.FinalLoss = tr.evalLoss(cfg.EvalSamples, cfg.EvalSeed)
	return nil
}

// forEach runs fn(0..count-1) on up to threads goroutines, handing out
// indices in order, and returns the first error (a worker's panic is one).
func forEach(ctx context.Context, count, threads int, progress Progress, fn func(int) error) error {
	var mu sync.Mutex
	done := 0
	var first error
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if err := ctx.Err(); err != nil && first == nil {
			first = err
		}
		return first != nil
	}
	perr := parallel.Each(count, threads, stop, func(k int) {
		err := fn(k)
		mu.Lock()
		defer mu.Unlock() // a panicking progress must not leave mu held
		if err != nil && first == nil {
			first = err
		}
		done++
		if err == nil && progress != nil {
			progress(done, count)
		}
	})
	if perr != nil && first == nil {
		first = fmt.Errorf("superposition: %w", perr)
	}
	return first
}
