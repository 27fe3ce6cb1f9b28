package superposition

import (
	"fmt"
	"math"
	"runtime"
	"sort"
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
