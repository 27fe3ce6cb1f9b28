package sae

import (
	"fmt"
	"math"
)

// Architecture names an SAE's activation function and sparsity penalty.
type Architecture string

// ReLU is f = ReLU(W_e x_bar + b_e) with the penalty λ Σ_k f_k ||W_d,k||,
// which is λ ||f||_1 since decoder columns have unit norm.
const ReLU Architecture = "relu"

// TopK keeps the Config.K largest pre-activations (ReLU'd) of each row and
// zeroes the rest, with no sparsity penalty (Gao et al. 2024).
const TopK Architecture = "topk"

// BatchTopK keeps the Config.K × batch largest pre-activations (ReLU'd)
// across the whole batch, so each row has k active on average, and
// estimates during training a threshold that inference applies per latent
// as JumpReLU does (Bussmann et al. 2024, BatchTopK Sparse Autoencoders).
const BatchTopK Architecture = "batchtopk"

// JumpReLU is f = pre · H(pre - θ) with a learned threshold θ per latent
// and an L0 penalty λ Σ_k H(pre_k - θ_k), trained through straight-through
// estimators with a rectangle kernel of bandwidth Config.Bandwidth
// (Rajamanoharan et al. 2024, Jumping Ahead).
const JumpReLU Architecture = "jumprelu"

// Learning-rate schedules after the warm-up (SAELens's lr_scheduler_name).
const (
	ScheduleConstant = "constant"
	ScheduleCosine   = "cosineannealing"
)

// Config configures the training of one sparse autoencoder. Zero fields take
// defaults (see each field).
type Config struct {
	// Architecture is the activation function and penalty (default ReLU).
	Architecture Architecture `json:"architecture" mapstructure:"architecture"`
	// DictSize is the number of dictionary features F (default 4*d).
	DictSize int `json:"dict_size" mapstructure:"dict_size"`
	// K is TopK's and BatchTopK's number of active features per row
	// (default 32, at most DictSize).
	K int `json:"k,omitempty" mapstructure:"k"`
	// L1 is lambda, the sparsity penalty coefficient: of ||f||_1 for ReLU,
	// of the L0 for JumpReLU (default 1e-3).
	L1 float64 `json:"l1" mapstructure:"l1"`
	// L1Warmup ramps λ linearly from λ/L1Warmup to λ over the first
	// L1Warmup steps (SAELens's l1_warm_up_steps; 0: none).
	L1Warmup int `json:"l1_warmup,omitempty" mapstructure:"l1_warmup"`
	// LRWarmup ramps the learning rate linearly from LR/LRWarmup to LR
	// over the first LRWarmup steps; LRSchedule then holds it (constant,
	// the default) or anneals it along a cosine to LREnd
	// (cosineannealing) until the last LRDecay steps, which decay it
	// linearly to LREnd: SAELens's lr_warm_up_steps, lr_scheduler_name,
	// lr_decay_steps and lr_end (default LR/10).
	LRWarmup   int     `json:"lr_warmup,omitempty" mapstructure:"lr_warmup"`
	LRSchedule string  `json:"lr_schedule,omitempty" mapstructure:"lr_schedule"`
	LRDecay    int     `json:"lr_decay,omitempty" mapstructure:"lr_decay"`
	LREnd      float64 `json:"lr_end,omitempty" mapstructure:"lr_end"`
	// Bandwidth is ε of JumpReLU's rectangle kernel and InitThreshold its
	// initial θ (SAELens's defaults 0.001 and 0.001).
	Bandwidth     float64 `json:"bandwidth,omitempty" mapstructure:"bandwidth"`
	InitThreshold float64 `json:"init_threshold,omitempty" mapstructure:"init_threshold"`
	// ThresholdLR is the rate of BatchTopK's running estimate of its
	// threshold, the smallest activation kept in a batch (SAELens's
	// topk_threshold_lr, default 0.01).
	ThresholdLR float64 `json:"threshold_lr,omitempty" mapstructure:"threshold_lr"`
	// AuxK is the coefficient α of the auxiliary loss of TopK and
	// BatchTopK (Gao et al. 2024, section 2.4 and appendix B.1): the
	// top k_aux = d/2 pre-activations among the dead latents (no firing in
	// the last DeadWindow training samples) reconstruct the residual x -
	// x_hat; 0: none. Gao et al. use 1/32.
	AuxK  float64 `json:"auxk,omitempty" mapstructure:"auxk"`
	Steps int     `json:"steps" mapstructure:"steps"` // default 5000
	Batch int     `json:"batch" mapstructure:"batch"` // default 256
	LR    float64 `json:"lr" mapstructure:"lr"`       // Adam, default 1e-3
	// Seed fixes the initial dictionary and the order of training rows.
	Seed uint64 `json:"seed" mapstructure:"seed"`
	// DeadWindow is the number of final training samples over which a
	// feature that never fires counts as dead (default 10 batches' worth,
	// capped at Steps*Batch).
	DeadWindow int `json:"dead_window" mapstructure:"dead_window"`
	// CheckpointDir, if set, receives the training state every
	// CheckpointEvery steps (default Steps/10), and a run whose directory
	// holds a checkpoint of the same configuration goes on from it, ending
	// with the weights an uninterrupted run reaches, bit for bit (the row
	// source is replayed up to the checkpoint).
	CheckpointDir   string `json:"-" mapstructure:"checkpoint_dir"`
	CheckpointEvery int    `json:"-" mapstructure:"checkpoint_every"`
	// EvalRows caps the rows used for the final metrics (default 8192).
	EvalRows int `json:"eval_rows" mapstructure:"eval_rows"`
	// LogEvery is the loss-curve spacing (default Steps/100).
	LogEvery int `json:"log_every" mapstructure:"log_every"`
}

// Bounds on a Config, so that a mistyped number is an error rather than
// an allocation the machine cannot make or a run that never ends.
const (
	MaxDictSize = 1 << 20
	MaxSteps    = 1 << 30
	MaxBatch    = 1 << 20
	// MaxParams bounds d·F: an SAE's float64 parameters, gradient and two
	// Adam moments take 64·d·F bytes.
	MaxParams = 1 << 24
)

// defaults fills zero fields for activations of width d.
func (c *Config) defaults(d int) {
	if c.Architecture == "" {
		c.Architecture = ReLU
	}
	if c.DictSize == 0 {
		c.DictSize = 4 * d
	}
	if (c.Architecture == TopK || c.Architecture == BatchTopK) && c.K == 0 {
		c.K = min(32, c.DictSize)
	}
	if c.L1 == 0 {
		c.L1 = 1e-3
	}
	if c.LRSchedule == "" {
		c.LRSchedule = ScheduleConstant
	}
	if c.Bandwidth == 0 {
		c.Bandwidth = 1e-3
	}
	if c.InitThreshold == 0 {
		c.InitThreshold = 1e-3
	}
	if c.ThresholdLR == 0 {
		c.ThresholdLR = 0.01
	}
	if c.Steps == 0 {
		c.Steps = 5000
	}
	if c.Batch == 0 {
		c.Batch = 256
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.LREnd == 0 {
		c.LREnd = c.LR / 10
	}
	if c.DeadWindow == 0 {
		c.DeadWindow = 10 * c.Batch
	}
	c.DeadWindow = min(c.DeadWindow, c.Steps*c.Batch)
	if c.EvalRows == 0 {
		c.EvalRows = 8192
	}
	if c.CheckpointDir != "" && c.CheckpointEvery == 0 {
		c.CheckpointEvery = max(1, c.Steps/10)
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/100)
	}
}

func (c *Config) validate() error {
	switch c.Architecture {
	case ReLU, JumpReLU:
	case TopK, BatchTopK:
		if c.K <= 0 || c.K > c.DictSize {
			return fmt.Errorf("k %d: want 1 to the %d features", c.K, c.DictSize)
		}
	default:
		return fmt.Errorf("unknown SAE architecture %q (want %s, %s, %s or %s)", c.Architecture, ReLU, TopK, BatchTopK, JumpReLU)
	}
	if c.CheckpointEvery < 0 {
		return fmt.Errorf("checkpoint_every %d", c.CheckpointEvery)
	}
	if c.LRSchedule != ScheduleConstant && c.LRSchedule != ScheduleCosine {
		return fmt.Errorf("lr schedule %q (want %s or %s)", c.LRSchedule, ScheduleConstant, ScheduleCosine)
	}
	if c.LRWarmup < 0 || c.LRDecay < 0 || c.L1Warmup < 0 || c.LRWarmup+c.LRDecay > c.Steps || !(c.LREnd >= 0) ||
		!(c.Bandwidth > 0) || !(c.InitThreshold > 0) || !(c.ThresholdLR > 0 && c.ThresholdLR <= 1) || !(c.AuxK >= 0) || math.IsInf(c.AuxK, 0) {
		return fmt.Errorf("lr_warmup %d, lr_decay %d (together at most steps %d), l1_warmup %d, lr_end %g, bandwidth %g, init_threshold %g, threshold_lr %g, auxk %g: out of range",
			c.LRWarmup, c.LRDecay, c.Steps, c.L1Warmup, c.LREnd, c.Bandwidth, c.InitThreshold, c.ThresholdLR, c.AuxK)
	}
	if c.DictSize <= 0 || c.Steps < 0 || c.Batch <= 0 || !(c.LR > 0) || math.IsInf(c.LR, 0) || !(c.L1 >= 0) || math.IsInf(c.L1, 0) {
		return fmt.Errorf("invalid config %+v", *c)
	}
	if c.DictSize > MaxDictSize || c.Steps > MaxSteps || c.Batch > MaxBatch || c.EvalRows > MaxBatch || c.EvalRows < 0 {
		return fmt.Errorf("dict_size %d, steps %d, batch %d, eval_rows %d: at most %d, %d, %d and %d", c.DictSize, c.Steps, c.Batch, c.EvalRows, MaxDictSize, MaxSteps, MaxBatch, MaxBatch)
	}
	return nil
}

// validateFor is validate for activations of width d.
func (c *Config) validateFor(d int) error {
	if err := c.validate(); err != nil {
		return err
	}
	if int64(d)*int64(c.DictSize) > MaxParams {
		return fmt.Errorf("%d features of width %d: over %d parameters per matrix", c.DictSize, d, MaxParams)
	}
	return nil
}

// lrAt is the learning rate of step t (1-based) of c's schedule.
func (c *Config) lrAt(t int) float64 {
	switch {
	case t <= c.LRWarmup:
		return c.LR * float64(t) / float64(c.LRWarmup)
	case t > c.Steps-c.LRDecay:
		// Linear from LR at the decay's start to LREnd at the last step.
		u := float64(t-(c.Steps-c.LRDecay)) / float64(c.LRDecay)
		return c.mainLR(c.Steps-c.LRDecay) + u*(c.LREnd-c.mainLR(c.Steps-c.LRDecay))
	}
	return c.mainLR(t)
}

// mainLR is the schedule between warm-up and decay.
func (c *Config) mainLR(t int) float64 {
	if c.LRSchedule != ScheduleCosine {
		return c.LR
	}
	span := c.Steps - c.LRDecay - c.LRWarmup
	if span <= 0 {
		return c.LR
	}
	u := float64(t-c.LRWarmup) / float64(span)
	return c.LREnd + (c.LR-c.LREnd)*(1+math.Cos(math.Pi*u))/2
}

// l1At is λ at step t: linear warm-up over L1Warmup steps.
func (c *Config) l1At(t int) float64 {
	if t < c.L1Warmup {
		return c.L1 * float64(t) / float64(c.L1Warmup)
	}
	return c.L1
}
