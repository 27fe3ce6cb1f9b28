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

// Config configures the training of one sparse autoencoder. Zero fields take
// defaults (see each field).
type Config struct {
	// Architecture is the activation function and penalty (default ReLU).
	Architecture Architecture `json:"architecture" mapstructure:"architecture"`
	// DictSize is the number of dictionary features F (default 4*d).
	DictSize int `json:"dict_size" mapstructure:"dict_size"`
	// K is TopK's number of active features per row (default 32, at most
	// DictSize).
	K int `json:"k,omitempty" mapstructure:"k"`
	// L1 is lambda, the sparsity penalty coefficient (default 1e-3).
	L1    float64 `json:"l1" mapstructure:"l1"`
	Steps int     `json:"steps" mapstructure:"steps"` // default 5000
	Batch int     `json:"batch" mapstructure:"batch"` // default 256
	LR    float64 `json:"lr" mapstructure:"lr"`       // Adam, default 1e-3
	// Seed fixes the initial dictionary and the order of training rows.
	Seed uint64 `json:"seed" mapstructure:"seed"`
	// DeadWindow is the number of final training samples over which a
	// feature that never fires counts as dead (default 10 batches' worth,
	// capped at Steps*Batch).
	DeadWindow int `json:"dead_window" mapstructure:"dead_window"`
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
	if c.Architecture == TopK && c.K == 0 {
		c.K = min(32, c.DictSize)
	}
	if c.L1 == 0 {
		c.L1 = 1e-3
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
	if c.DeadWindow == 0 {
		c.DeadWindow = 10 * c.Batch
	}
	c.DeadWindow = min(c.DeadWindow, c.Steps*c.Batch)
	if c.EvalRows == 0 {
		c.EvalRows = 8192
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/100)
	}
}

func (c *Config) validate() error {
	if _, err := activationOf(c.Architecture, c.K); err != nil {
		return err
	}
	if c.Architecture == TopK && c.K > c.DictSize {
		return fmt.Errorf("k %d is more than the %d features", c.K, c.DictSize)
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
