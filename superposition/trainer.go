package superposition

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/train"
)

// The purposes of the random streams derived (internal/seed) from an
// instance's Seed, from Config.EvalSeed and from Sample's seed: each stream is
// independent of the others and of those of neighbouring seeds.
const (
	purposeInit   = "superposition/init"
	purposeData   = "superposition/data"
	purposeEval   = "superposition/eval"
	purposeSample = "superposition/sample"
)

// trainer is one instance's complete training state. Nothing in step
// allocates.
type trainer struct {
	cfg  *Config
	l    layout
	p, g []float64
	opt  *train.AdamW[float64]
	imp  []float64
	smp  *sampler
	r    seed.Rand
	wk   *work
	bw   *batchWork
}

func newTrainer(cfg *Config, in *Instance) (*trainer, error) {
	n, m := cfg.Features, cfg.Hidden
	if err := in.Data.validate(n); err != nil {
		return nil, err
	}
	if len(in.Importance) != n {
		return nil, fmt.Errorf("importance has %d values for %d features", len(in.Importance), n)
	}
	if cfg.Kind == AbsValue && !in.Data.Signed {
		in.Data.Signed = true
	}
	l := newLayout(cfg.Kind, n, m)
	// Anthropic's notebook decays every parameter (biases included) when
	// weight decay is on; it is off by default.
	opt := train.NewAdamWMasked[float64](l.size, train.Hyper{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps,
		WeightDecay: cfg.WeightDecay}, []train.Span{{Lo: 0, Hi: l.size}})
	t := &trainer{cfg: cfg, l: l, p: make([]float64, l.size), g: make([]float64, l.size), opt: opt,
		imp: in.Importance, smp: newSampler(&in.Data), wk: newWork(n, m)}
	if cfg.Kind != AbsValue {
		t.bw = newBatchWork(n, m, cfg.Batch)
	}
	t.r = seed.New(seed.Derive(in.Seed, 0, purposeData))
	init := seed.New(seed.Derive(in.Seed, 0, purposeInit))
	std := cfg.InitStd
	if std == 0 {
		std = math.Sqrt(2 / float64(n+m))
	}
	for j := l.w; j < l.w+n*m; j++ {
		t.p[j] = std * init.NormFloat64()
	}
	if cfg.Kind == AbsValue {
		for j := l.w2; j < l.w2+n*m; j++ {
			t.p[j] = std * init.NormFloat64()
		}
	}
	return t, nil
}

// step draws a batch, accumulates the gradient sample by sample and applies
// one AdamW update (torch.optim.AdamW's, the optimizer of Anthropic's
// notebook). It returns the batch loss.
func (t *trainer) step() float64 {
	clear(t.g)
	B := t.cfg.Batch
	scale := 1 / float64(B)
	var loss float64
	if bw := t.bw; bw != nil {
		for b := 0; b < B; b += bw.C {
			c := min(bw.C, B-b)
			t.smp.fillColumns(&t.r, bw.X, bw.C, c, bw.row, bw.nz)
			loss += t.l.chunkTied(t.p, t.g, t.imp, bw, c, scale)
		}
	} else {
		for b := 0; b < B; b++ {
			nnz := t.smp.sample(&t.r, t.wk.x, t.wk.nz)
			loss += t.l.accumulate(t.p, t.g, t.imp, t.wk, nnz, scale)
		}
	}
	if err := t.opt.Step(t.p, t.g, t.cfg.LR); err != nil {
		panic(err) // p and g are sized with the optimizer
	}
	return loss * scale
}

// evalLoss is the loss of the current weights on count samples drawn from
// the evaluation stream of key.
func (t *trainer) evalLoss(count int, key uint64) float64 {
	r := seed.New(seed.Derive(key, 0, purposeEval))
	g := make([]float64, len(t.p))
	var loss float64
	for b := 0; b < count; b++ {
		nnz := t.smp.sample(&r, t.wk.x, t.wk.nz)
		loss += t.l.accumulate(t.p, g, t.imp, t.wk, nnz, 0)
	}
	return loss / float64(count)
}
