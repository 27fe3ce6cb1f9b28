package train

import (
	"errors"
	"fmt"
	"math"
)

// MaxSteps bounds Config.Steps (2^30, a billion updates): the checkpoint
// schedule and the metrics log are lists over the steps.
const MaxSteps = 1 << 30

// Config is the `train:` section of a training configuration. Start from
// [DefaultConfig] and change what differs; docs/training.md describes every
// key.
type Config struct {
	// Steps is the number of optimizer updates.
	Steps int `json:"steps" mapstructure:"steps" yaml:"steps"`
	// BatchSize is the number of sequences per update.
	BatchSize int `json:"batch_size" mapstructure:"batch_size" yaml:"batch_size"`
	// SeqLen is the number of positions per sequence; 0 means the model's n_ctx.
	SeqLen int `json:"seq_len" mapstructure:"seq_len" yaml:"seq_len"`
	// LR is the peak learning rate, reached at the end of the warmup.
	LR float64 `json:"lr" mapstructure:"lr" yaml:"lr"`
	// MinLR is where the cosine decay ends, at the last step.
	MinLR float64 `json:"min_lr" mapstructure:"min_lr" yaml:"min_lr"`
	// Warmup is the number of updates of linear warmup.
	Warmup int `json:"warmup" mapstructure:"warmup" yaml:"warmup"`
	// WeightDecay is AdamW's decoupled decay λ, applied to the parameters
	// Decay names.
	WeightDecay float64 `json:"weight_decay" mapstructure:"weight_decay" yaml:"weight_decay"`
	// Decay says which parameters weight decay applies to: "matrices"
	// (the default, "" too: nanoGPT's rule, see [Decays]) or "all"
	// (torch.optim.AdamW given model.parameters(), as plain PyTorch
	// training scripts do).
	Decay string `json:"decay,omitempty" mapstructure:"decay" yaml:"decay,omitempty"`
	// Beta1, Beta2 and Eps are Adam's moment decay rates and denominator floor.
	Beta1 float64 `json:"beta1" mapstructure:"beta1" yaml:"beta1"`
	Beta2 float64 `json:"beta2" mapstructure:"beta2" yaml:"beta2"`
	Eps   float64 `json:"eps" mapstructure:"eps" yaml:"eps"`
	// GradClip is the maximum global gradient norm; 0 disables clipping.
	GradClip float64 `json:"grad_clip" mapstructure:"grad_clip" yaml:"grad_clip"`
	// EvalEvery computes the held-out loss every EvalEvery steps (and at
	// steps 0 and the last); 0 disables it.
	EvalEvery int `json:"eval_every" mapstructure:"eval_every" yaml:"eval_every"`
	// EvalBatches is the number of held-out batches (drawn once, reused at
	// every evaluation).
	EvalBatches int `json:"eval_batches" mapstructure:"eval_batches" yaml:"eval_batches"`
	// Checkpoints says which steps are saved.
	Checkpoints CheckpointSchedule `json:"checkpoints" mapstructure:"checkpoints" yaml:"checkpoints"`
	// Seed is the run's seed. run.LoadConfig derives the model's and the
	// data's seeds from it when those are not given; the loop itself draws
	// no random numbers.
	Seed uint64 `json:"seed" mapstructure:"seed" yaml:"seed"`
}

// DefaultConfig returns the defaults (see docs/training.md): AdamW at
// docs/REFERENCE.md's lr 3e-3 with nanoGPT's betas (0.9, 0.95) and weight decay
// 0.1, 100 warmup steps, cosine decay to a tenth of the peak, clipping at 1.
func DefaultConfig() Config {
	return Config{
		Steps:       2000,
		BatchSize:   32,
		LR:          3e-3,
		MinLR:       3e-4,
		Warmup:      100,
		WeightDecay: 0.1,
		Beta1:       0.9,
		Beta2:       0.95,
		Eps:         1e-8,
		GradClip:    1,
		EvalEvery:   100,
		EvalBatches: 4,
		Checkpoints: CheckpointSchedule{PerDoubling: 1, Every: 500},
		Seed:        1,
	}
}

// Values of [Config.Decay].
const (
	DecayMatrices = "matrices"
	DecayAll      = "all"
)

// decay returns c.Decay with "" read as its default.
func (c Config) decay() string {
	if c.Decay == "" {
		return DecayMatrices
	}
	return c.Decay
}

// Validate reports every value out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if c.Steps <= 0 || c.Steps > MaxSteps {
		bad("steps must be in [1, %d], got %d", MaxSteps, c.Steps)
	}
	if c.BatchSize <= 0 {
		bad("batch_size must be positive, got %d", c.BatchSize)
	}
	if c.SeqLen < 0 {
		bad("seq_len must be positive (or 0 for n_ctx), got %d", c.SeqLen)
	}
	if !(c.LR > 0) || !finite(c.LR) {
		bad("lr must be positive and finite, got %g", c.LR)
	}
	if !(c.MinLR >= 0) || c.MinLR > c.LR {
		bad("min_lr must be in [0, lr=%g], got %g", c.LR, c.MinLR)
	}
	if c.Warmup < 0 || (c.Steps > 0 && c.Warmup > c.Steps) {
		bad("warmup must be in [0, steps=%d], got %d", c.Steps, c.Warmup)
	}
	if !(c.WeightDecay >= 0) || !finite(c.WeightDecay) {
		bad("weight_decay must be non-negative, got %g", c.WeightDecay)
	}
	if d := c.decay(); d != DecayMatrices && d != DecayAll {
		bad("decay must be %q or %q, got %q", DecayMatrices, DecayAll, c.Decay)
	}
	if !(c.Beta1 >= 0 && c.Beta1 < 1) {
		bad("beta1 must be in [0, 1), got %g", c.Beta1)
	}
	if !(c.Beta2 >= 0 && c.Beta2 < 1) {
		bad("beta2 must be in [0, 1), got %g", c.Beta2)
	}
	if !(c.Eps > 0) || !finite(c.Eps) {
		bad("eps must be positive, got %g", c.Eps)
	}
	if !(c.GradClip >= 0) || !finite(c.GradClip) {
		bad("grad_clip must be non-negative (0 disables it), got %g", c.GradClip)
	}
	if c.EvalEvery < 0 {
		bad("eval_every must be non-negative (0 disables evaluation), got %d", c.EvalEvery)
	}
	if c.EvalBatches < 0 || (c.EvalEvery > 0 && c.EvalBatches == 0) {
		bad("eval_batches must be positive when eval_every is set, got %d", c.EvalBatches)
	}
	if c.Checkpoints.PerDoubling < 0 {
		bad("checkpoints.log_per_doubling must be non-negative, got %d", c.Checkpoints.PerDoubling)
	}
	if c.Checkpoints.Every < 0 {
		bad("checkpoints.every must be non-negative, got %d", c.Checkpoints.Every)
	}
	for _, s := range c.Checkpoints.Steps {
		if s < 0 {
			bad("checkpoints.steps must be non-negative, got %d", s)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// sameArithmetic reports the first difference between two configs that
// would change the losses of a resumed run.
func sameArithmetic(old, cur Config) error {
	type kv struct {
		name     string
		old, cur any
	}
	for _, d := range []kv{
		{"steps", old.Steps, cur.Steps},
		{"batch_size", old.BatchSize, cur.BatchSize},
		{"seq_len", old.SeqLen, cur.SeqLen},
		{"lr", old.LR, cur.LR},
		{"min_lr", old.MinLR, cur.MinLR},
		{"warmup", old.Warmup, cur.Warmup},
		{"weight_decay", old.WeightDecay, cur.WeightDecay},
		{"decay", old.decay(), cur.decay()},
		{"beta1", old.Beta1, cur.Beta1},
		{"beta2", old.Beta2, cur.Beta2},
		{"eps", old.Eps, cur.Eps},
		{"grad_clip", old.GradClip, cur.GradClip},
	} {
		if d.old != d.cur {
			return fmt.Errorf("train.%s was %v in the checkpoint, now %v: a resumed run must keep the settings that shape its losses", d.name, d.old, d.cur)
		}
	}
	return nil
}
