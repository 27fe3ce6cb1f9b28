package superposition

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/train"
)

// Instance is one toy model of a batch trained together, with its own data
// distribution, importance vector and seed, as in Anthropic's notebook for
// Elhage et al. 2022 (Toy Models of Superposition).
type Instance struct {
	// Label is a free-form name shown in charts (e.g. "1-S=0.1 seed 3").
	Label string `json:"label,omitempty"`
	// Data is the input distribution (per-feature density, feature sets).
	Data Distribution `json:"data"`
	// Importance is I_i, the weight of feature i in the loss.
	Importance []float64 `json:"importance"`
	// Seed fixes the initial weights and the training data.
	Seed uint64 `json:"seed"`
}

// Config is the training setup shared by all instances. Zero fields take
// the defaults of Anthropic's notebook (see Defaults).
type Config struct {
	Kind        Kind    `json:"kind"`
	Features    int     `json:"features"`
	Hidden      int     `json:"hidden"`
	Steps       int     `json:"steps"`
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	// InitStd is the standard deviation of the initial weights; 0 means
	// Xavier-normal, sqrt(2/(n+m)).
	InitStd float64 `json:"init_std,omitempty"`
	// LogEvery is the loss-curve spacing in steps; 0 picks about 200 points.
	LogEvery int `json:"log_every"`
	// Snapshots lists the steps (0 = initial weights) whose weights are kept;
	// nil means LogSpacedSteps(Steps, 12).
	Snapshots []int `json:"snapshots"`
	// EvalSamples is the size of the held-out batch on which FinalLoss is
	// measured (default 8192). It is drawn with EvalSeed, the same for every
	// instance with the same distribution, so seeds compare fairly.
	EvalSamples int    `json:"eval_samples"`
	EvalSeed    uint64 `json:"eval_seed"`
	// Threads is the number of goroutines (default GOMAXPROCS); instances are
	// spread across them and results do not depend on it.
	Threads int `json:"threads"`
}

// Defaults fills zero fields: AdamW lr 1e-3 without weight decay, betas
// (0.9, 0.999), eps 1e-8, batch 1024, 10,000 steps.
func (c *Config) Defaults() {
	if c.Kind == "" {
		c.Kind = ReLUOutput
	}
	if c.Steps == 0 {
		c.Steps = 10000
	}
	if c.Batch == 0 {
		c.Batch = 1024
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/200)
	}
	if c.Snapshots == nil {
		c.Snapshots = LogSpacedSteps(c.Steps, 12)
	}
	if c.EvalSamples == 0 {
		c.EvalSamples = 8192
	}
	if c.Threads <= 0 {
		c.Threads = runtime.GOMAXPROCS(0)
	}
}

func (c *Config) validate() error {
	if !c.Kind.Valid() {
		return fmt.Errorf("unknown model kind %q (want linear, relu_output, relu_hidden or abs)", c.Kind)
	}
	if c.Features <= 0 || c.Hidden <= 0 {
		return fmt.Errorf("features and hidden must be positive, got %d and %d", c.Features, c.Hidden)
	}
	if c.Steps < 0 || c.Batch <= 0 {
		return fmt.Errorf("steps must be >= 0 and batch > 0, got %d and %d", c.Steps, c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("learning rate must be positive, got %v", c.LR)
	}
	return nil
}

// LogSpacedSteps returns about k distinct steps from 0 to total, spaced
// evenly in log(1+step), always including 0 and total: the snapshot schedule
// that shows geometry forming early and settling late.
func LogSpacedSteps(total, k int) []int {
	if total <= 0 {
		return []int{0}
	}
	set := map[int]bool{0: true, total: true}
	for j := 1; j < k; j++ {
		s := int(math.Round(math.Expm1(float64(j) / float64(k-1) * math.Log1p(float64(total)))))
		set[min(max(s, 0), total)] = true
	}
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

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

// The purposes of the random streams derived (internal/seed) from an
// instance's Seed, from Config.EvalSeed and from Sample's seed: each stream is
// independent of the others and of those of neighbouring seeds.
const (
	purposeInit   = "superposition/init"
	purposeData   = "superposition/data"
	purposeEval   = "superposition/eval"
	purposeSample = "superposition/sample"
)

// ErrNaN reports a training run whose loss stopped being finite. It is
// sae.ErrNaN, so that one errors.Is covers the toy models and the SAEs of
// the "sae" experiment.
var ErrNaN = sae.ErrNaN

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
	err := parallel(ctx, len(instances), cfg.Threads, progress, func(k int) error {
		tr := trainers[k]
		out := &res.Instances[k]
		out.Instance = instances[k]
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
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return res, nil
}

// parallel runs fn(0..count-1) on up to threads goroutines, handing out
// indices in order, and returns the first error.
func parallel(ctx context.Context, count, threads int, progress Progress, fn func(int) error) error {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, count)
	var mu sync.Mutex
	next, done := 0, 0
	var first error
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if first != nil || next >= count {
					mu.Unlock()
					return
				}
				k := next
				next++
				mu.Unlock()
				if err := ctx.Err(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				err := fn(k)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				done++
				if err == nil && progress != nil {
					progress(done, count)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
