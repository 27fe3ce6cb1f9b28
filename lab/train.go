package lab

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/train"
)

// TrainConfig configures preference-model training.
type TrainConfig struct {
	// Objective is preference (default), binary or imitation.
	Objective Objective `json:"objective" mapstructure:"objective" yaml:"objective"`
	// Steps of AdamW (default 600), each on Batch comparisons (default 32)
	// drawn uniformly with replacement from the training set.
	Steps int `json:"steps" mapstructure:"steps" yaml:"steps"`
	Batch int `json:"batch" mapstructure:"batch" yaml:"batch"`
	// LR is the peak learning rate (default 1e-3), after a linear warmup of
	// Warmup steps (default Steps/20) and a cosine decay to LR/10.
	LR     float64 `json:"lr" mapstructure:"lr" yaml:"lr"`
	Warmup int     `json:"warmup" mapstructure:"warmup" yaml:"warmup"`
	// WeightDecay is AdamW's decoupled decay on weight matrices (default 0).
	WeightDecay float64 `json:"weight_decay" mapstructure:"weight_decay" yaml:"weight_decay"`
	// EvalEvery evaluates on the held-out set every so many steps (default
	// Steps/10), and at the end.
	EvalEvery int `json:"eval_every" mapstructure:"eval_every" yaml:"eval_every"`
	// Bins is the number of reliability bins (default 10).
	Bins int `json:"bins" mapstructure:"bins" yaml:"bins"`
	// Seed fixes the order of batches.
	Seed uint64 `json:"seed" mapstructure:"seed" yaml:"seed"`
}

// WithDefaults fills the fields left at zero.
func (c TrainConfig) WithDefaults() TrainConfig {
	if c.Objective == "" {
		c.Objective = Preference
	}
	if c.Steps == 0 {
		c.Steps = 600
	}
	if c.Batch == 0 {
		c.Batch = 32
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Warmup == 0 {
		c.Warmup = c.Steps / 20
	}
	if c.EvalEvery == 0 {
		c.EvalEvery = max(c.Steps/10, 1)
	}
	if c.Bins == 0 {
		c.Bins = 10
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c TrainConfig) Validate() error {
	var errs []error
	if _, err := ParseObjective(string(c.Objective)); err != nil {
		errs = append(errs, err)
	}
	if c.Steps < 0 || c.Steps > train.MaxSteps || c.Batch < 1 || c.EvalEvery < 1 || c.Bins < 1 || c.Warmup < 0 {
		errs = append(errs, fmt.Errorf("steps %d, batch %d, eval_every %d, bins %d and warmup %d must be positive",
			c.Steps, c.Batch, c.EvalEvery, c.Bins, c.Warmup))
	}
	if !(c.LR > 0) || c.WeightDecay < 0 {
		errs = append(errs, fmt.Errorf("lr %g must be positive and weight_decay %g not negative", c.LR, c.WeightDecay))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: training: %w", err)
	}
	return nil
}

// StepLoss is one training step's loss.
type StepLoss struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	LR   float64 `json:"lr"`
}

// History is a training run: its losses, its evaluations, and the final
// reliability diagrams (against labels and, on the synthetic task, against
// the true probabilities).
type History struct {
	Objective       Objective           `json:"objective"`
	Train           []StepLoss          `json:"train"`
	Eval            []Metrics           `json:"eval"`
	Final           Metrics             `json:"final"`
	Reliability     ReliabilityDiagram  `json:"reliability"`
	ReliabilityTrue *ReliabilityDiagram `json:"reliability_true,omitempty"`
}

// Train trains pm on the comparisons trainSet with cfg's objective,
// evaluating on evalSet; progress, if set, sees each evaluation.
func Train(pm *PrefModel, trainSet, evalSet []Comparison, cfg TrainConfig, progress func(Metrics)) (*History, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(trainSet) == 0 || len(evalSet) == 0 {
		return nil, fmt.Errorf("lab: %d training and %d evaluation comparisons; need both", len(trainSet), len(evalSet))
	}
	tc := train.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: cfg.WeightDecay}
	opt := train.NewAdamW(pm.Model.Params, tc)
	hopt := train.NewAdamWMasked[float32](len(pm.Head), train.Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, nil)
	g := pm.NewGrads()
	h := &History{Objective: cfg.Objective}
	rng := seed.New(seed.Derive(cfg.Seed, 0, "lab/train/batches"))
	batch := make([]Comparison, cfg.Batch)
	eval := func(step int) error {
		e, err := EvaluateModel(pm, cfg.Objective, evalSet, cfg.Bins)
		if err != nil {
			return err
		}
		e.Step = step
		h.Eval = append(h.Eval, e.Metrics)
		h.Final, h.Reliability, h.ReliabilityTrue = e.Metrics, e.Reliability, e.ReliabilityTrue
		if progress != nil {
			progress(e.Metrics)
		}
		return nil
	}
	if err := eval(0); err != nil {
		return nil, err
	}
	for step := 1; step <= cfg.Steps; step++ {
		for i := range batch {
			batch[i] = trainSet[rng.IntN(len(trainSet))]
		}
		g.Zero()
		loss, err := pm.LossAndGrad(cfg.Objective, batch, g)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("lab: training loss is %g at step %d (lower the learning rate)", loss, step)
		}
		lr := train.LR(step-1, cfg.Steps, cfg.Warmup, cfg.LR, cfg.LR/10)
		if err := opt.Step(pm.Model.Params.Data, g.Model.Data, lr); err != nil {
			return nil, err
		}
		if cfg.Objective != Imitation {
			if err := hopt.Step(pm.Head, g.Head, lr); err != nil {
				return nil, err
			}
		}
		h.Train = append(h.Train, StepLoss{Step: step, Loss: loss, LR: lr})
		if step%cfg.EvalEvery == 0 || step == cfg.Steps {
			if err := eval(step); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// EvaluateModel scores evalSet with pm and evaluates the scores, with the
// objective's mean loss on the set.
func EvaluateModel(pm *PrefModel, obj Objective, evalSet []Comparison, bins int) (Evaluation, error) {
	const chunk = 64
	s, err := pm.ScoreSet(obj, evalSet, chunk)
	if err != nil {
		return Evaluation{}, err
	}
	loss := 0.0
	for lo := 0; lo < len(evalSet); lo += chunk {
		hi := min(lo+chunk, len(evalSet))
		l, err := pm.LossAndGrad(obj, evalSet[lo:hi], nil)
		if err != nil {
			return Evaluation{}, err
		}
		loss += l * float64(hi-lo)
	}
	return Evaluate(evalSet, s, loss/float64(len(evalSet)), bins)
}
