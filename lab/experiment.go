package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// Names inside a preference-model run directory (`mechinterp prefs train
// --out DIR`).
const (
	// ResultsFile holds the run's PrefsResult.
	ResultsFile = "results.json"
	// ModelDir is the trained preference model (a checkpoint plus HeadFile).
	ModelDir = "model"
	// ReportFile is the run's page.
	ReportFile = "index.html"
)

// PrefsConfig is one preference-model training run: where its model and
// its comparisons come from, and how it trains.
type PrefsConfig struct {
	// Init is a language-model checkpoint to start from; empty means a
	// fresh Model.
	Init string `json:"init,omitempty" mapstructure:"init" yaml:"init,omitempty"`
	// Model configures a fresh model (ignored with Init). n_ctx and d_vocab
	// default to the synthetic task's.
	Model models.Config `json:"model" mapstructure:"model" yaml:"model"`
	// Task is the synthetic preference task, used unless HH is set.
	Task SyntheticConfig `json:"task" mapstructure:"task" yaml:"task"`
	// HH and HHEval are HH-RLHF JSONL files (training and held-out
	// comparisons), tokenized with Init's tokenizer and truncated from the
	// left to n_ctx tokens (see ReadHH).
	HH     string `json:"hh,omitempty" mapstructure:"hh" yaml:"hh,omitempty"`
	HHEval string `json:"hh_eval,omitempty" mapstructure:"hh_eval" yaml:"hh_eval,omitempty"`
	// TrainComparisons and EvalComparisons are the set sizes (defaults
	// 32000 and 1000; with HH files, at most that many are read).
	TrainComparisons int `json:"train_comparisons" mapstructure:"train_comparisons" yaml:"train_comparisons"`
	EvalComparisons  int `json:"eval_comparisons" mapstructure:"eval_comparisons" yaml:"eval_comparisons"`
	// Train configures the optimisation; its default is 2000 steps of 64
	// comparisons at a peak learning rate of 1e-3.
	Train TrainConfig `json:"train" mapstructure:"train" yaml:"train"`
	// Seed seeds the reward head, and the model and task when theirs are 0.
	Seed uint64 `json:"seed" mapstructure:"seed" yaml:"seed"`
}

// WithDefaults fills the fields left at zero. The default is the scale at
// which docs/alignment-lab.md's numbers are measured: a 2-layer, 4-head,
// d_model 48 transformer on the synthetic task.
func (c PrefsConfig) WithDefaults() PrefsConfig {
	c.Seed, c.Task = seededTask(c.Seed, c.Task)
	if c.Init == "" {
		c.Model = taskModel(c.Model, c.Task, c.Seed)
	}
	if c.TrainComparisons == 0 {
		c.TrainComparisons = 32000
	}
	if c.EvalComparisons == 0 {
		c.EvalComparisons = 1000
	}
	if c.Train.Steps == 0 {
		c.Train.Steps = 2000
	}
	if c.Train.Batch == 0 {
		c.Train.Batch = 64
	}
	if c.Train.Seed == 0 {
		c.Train.Seed = c.Seed
	}
	c.Train = c.Train.WithDefaults()
	return c
}

// seededTask returns seed (1 when 0) and task with its defaults filled and,
// unless it has its own, seed as its seed: a run's or a study's seed seeds
// its task.
func seededTask(seed uint64, task SyntheticConfig) (uint64, SyntheticConfig) {
	if seed == 0 {
		seed = 1
	}
	if task.Seed == 0 {
		task.Seed = seed
	}
	return seed, task.WithDefaults()
}

// taskModel fills the fields of m left at zero for a fresh model of task: 2
// layers, 4 heads, d_model 48, the task's sequence length and vocabulary,
// seed, and initializer range 0.1.
func taskModel(m models.Config, task SyntheticConfig, seed uint64) models.Config {
	if m.NLayers == 0 {
		m.NLayers = 2
	}
	if m.NHeads == 0 {
		m.NHeads = 4
	}
	if m.DModel == 0 {
		m.DModel = 48
	}
	if m.NCtx == 0 {
		m.NCtx = task.SeqLen()
	}
	if m.DVocab == 0 {
		m.DVocab = task.Vocab
	}
	if m.Seed == 0 {
		m.Seed = seed
	}
	if m.InitializerRange == 0 {
		m.InitializerRange = 0.1
	}
	return m
}

// Validate reports what is wrong with c (after WithDefaults).
func (c PrefsConfig) Validate() error {
	var errs []error
	if c.HH == "" {
		errs = append(errs, c.Task.Validate())
	} else if c.HHEval == "" {
		errs = append(errs, errors.New("lab: hh needs hh_eval, a held-out file of comparisons"))
	}
	if c.HH != "" && c.Init == "" {
		errs = append(errs, errors.New("lab: HH-RLHF data needs init, a checkpoint whose tokenizer reads the text"))
	}
	if c.TrainComparisons < 1 || c.EvalComparisons < 1 {
		errs = append(errs, fmt.Errorf("lab: train_comparisons %d and eval_comparisons %d must be positive", c.TrainComparisons, c.EvalComparisons))
	}
	errs = append(errs, c.Train.Validate())
	return errors.Join(errs...)
}

// PrefsResult is what a run writes to ResultsFile.
type PrefsResult struct {
	Config PrefsConfig `json:"config"`
	// Data says where the comparisons came from.
	Data    string   `json:"data"`
	Params  int      `json:"params"`
	History *History `json:"history"`
}

// MarshalJSON writes NaN and ±Inf as null.
func (r PrefsResult) MarshalJSON() ([]byte, error) {
	type plain PrefsResult
	return jsonx.Marshal(plain(r))
}

// TrainPrefs builds cfg's model and data, trains a preference model, and,
// when out is not empty, writes the model (out/ModelDir) and the result
// (out/ResultsFile).
func TrainPrefs(cfg PrefsConfig, out string, progress func(Metrics)) (*PrefsResult, *PrefModel, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	var m *models.Model
	var err error
	if cfg.Init != "" {
		if m, err = models.Load(cfg.Init); err != nil {
			return nil, nil, err
		}
	} else if m, err = models.New(cfg.Model); err != nil {
		return nil, nil, err
	}
	trainSet, evalSet, what, err := cfg.data(m)
	if err != nil {
		return nil, nil, err
	}
	pm := NewPrefModel(m, cfg.Seed)
	h, err := Train(pm, trainSet, evalSet, cfg.Train, progress)
	if err != nil {
		return nil, nil, err
	}
	res := &PrefsResult{Config: cfg, Data: what, Params: m.NumParams() + len(pm.Head), History: h}
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, nil, fmt.Errorf("lab: %w", err)
		}
		if err := pm.Save(filepath.Join(out, ModelDir)); err != nil {
			return nil, nil, err
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return nil, nil, fmt.Errorf("lab: %w", err)
		}
		if err := atomicfile.WriteBytes(filepath.Join(out, ResultsFile), append(b, '\n')); err != nil {
			return nil, nil, err
		}
	}
	return res, pm, nil
}

// data returns the training and evaluation comparisons and a description.
func (c PrefsConfig) data(m *models.Model) (trainSet, evalSet []Comparison, what string, err error) {
	if c.HH == "" {
		if m.Config.DVocab < c.Task.Vocab || m.Config.NCtx < c.Task.SeqLen() {
			return nil, nil, "", fmt.Errorf("lab: the synthetic task needs d_vocab ≥ %d and n_ctx ≥ %d; the model has %d and %d",
				c.Task.Vocab, c.Task.SeqLen(), m.Config.DVocab, m.Config.NCtx)
		}
		what = fmt.Sprintf("synthetic preference task (vocab %d, %d tokens, beta %g, seed %d): %d training and %d held-out comparisons",
			c.Task.Vocab, c.Task.Len, c.Task.Beta, c.Task.Seed, c.TrainComparisons, c.EvalComparisons)
		return c.Task.Comparisons(SetTrain, c.TrainComparisons), c.Task.Comparisons(SetEval, c.EvalComparisons), what, nil
	}
	tok, err := tokenizer.ForDir(c.Init, m.Config.DVocab, models.WrittenByMechinterp(c.Init))
	if err != nil {
		return nil, nil, "", err
	}
	if trainSet, err = ReadHHFile(c.HH, tok, m.Config.NCtx, c.TrainComparisons); err != nil {
		return nil, nil, "", err
	}
	if evalSet, err = ReadHHFile(c.HHEval, tok, m.Config.NCtx, c.EvalComparisons); err != nil {
		return nil, nil, "", err
	}
	what = fmt.Sprintf("HH-RLHF comparisons: %d from %s, %d held out from %s, truncated from the left to %d tokens",
		len(trainSet), c.HH, len(evalSet), c.HHEval, m.Config.NCtx)
	return trainSet, evalSet, what, nil
}

// ReadPrefsResult reads a run's ResultsFile.
func ReadPrefsResult(dir string) (*PrefsResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var r PrefsResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	if r.History == nil {
		return nil, fmt.Errorf("lab: %s holds no training history", filepath.Join(dir, ResultsFile))
	}
	return &r, nil
}
