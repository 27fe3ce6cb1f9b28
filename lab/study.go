package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
)

// Names inside a preference-model study directory (`mechinterp prefs study
// --out DIR`).
const (
	// StudyRowsFile holds one StudyRow per finished cell, appended as cells
	// finish, so an interrupted study resumes where it stopped.
	StudyRowsFile = "study.jsonl"
	// StudyConfigFile is the study's resolved config.
	StudyConfigFile = "study.json"
	// PretrainedDir is the preference model after pre-training, shared by
	// the finetuning cells.
	PretrainedDir = "pretrained"
)

// StudyConfig is a preference-model study in the manner of Askell et al.
// 2021: accuracy against model size for each objective, and against the
// number of finetuning comparisons with and without preference-model
// pre-training (PMP) on a broad comparison set.
type StudyConfig struct {
	Task SyntheticConfig `json:"task" mapstructure:"task" yaml:"task"`
	// Sizes are the d_model of the 2-layer models of the size sweep
	// (default 8, 16, 32, 48); heads are d_model/8, at least 1.
	Sizes []int `json:"sizes" mapstructure:"sizes" yaml:"sizes"`
	// Objectives of the size sweep (default all three).
	Objectives []Objective `json:"objectives" mapstructure:"objectives" yaml:"objectives"`
	// Comparisons and Steps of each size-sweep cell (defaults 8000, 600).
	Comparisons int `json:"comparisons" mapstructure:"comparisons" yaml:"comparisons"`
	Steps       int `json:"steps" mapstructure:"steps" yaml:"steps"`
	// Finetune lists the numbers of target comparisons of the finetuning
	// sweep (default 100, 300, 1000, 3000), each trained FinetuneSteps
	// (default 300) from scratch and from the pre-trained model, at
	// FinetuneSize (default 32).
	Finetune      []int `json:"finetune" mapstructure:"finetune" yaml:"finetune"`
	FinetuneSteps int   `json:"finetune_steps" mapstructure:"finetune_steps" yaml:"finetune_steps"`
	FinetuneSize  int   `json:"finetune_size" mapstructure:"finetune_size" yaml:"finetune_size"`
	// Pre-training: PretrainComparisons (default 16000) of the broad task,
	// the target task with its token classes relabelled (class_shift 1)
	// and its own seed, for PretrainSteps (default 600).
	PretrainComparisons int `json:"pretrain_comparisons" mapstructure:"pretrain_comparisons" yaml:"pretrain_comparisons"`
	PretrainSteps       int `json:"pretrain_steps" mapstructure:"pretrain_steps" yaml:"pretrain_steps"`
	// EvalComparisons held out (default 1000); Batch (default 32) and LR
	// (default 2e-3) of every cell.
	EvalComparisons int     `json:"eval_comparisons" mapstructure:"eval_comparisons" yaml:"eval_comparisons"`
	Batch           int     `json:"batch" mapstructure:"batch" yaml:"batch"`
	LR              float64 `json:"lr" mapstructure:"lr" yaml:"lr"`
	Seed            uint64  `json:"seed" mapstructure:"seed" yaml:"seed"`
}

// WithDefaults fills the fields left at zero.
func (c StudyConfig) WithDefaults() StudyConfig {
	c.Seed, c.Task = seededTask(c.Seed, c.Task)
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if len(c.Sizes) == 0 {
		c.Sizes = []int{8, 16, 32, 48}
	}
	if len(c.Objectives) == 0 {
		c.Objectives = Objectives
	}
	if len(c.Finetune) == 0 {
		c.Finetune = []int{100, 300, 1000, 3000}
	}
	def(&c.Comparisons, 8000)
	def(&c.Steps, 600)
	def(&c.FinetuneSteps, 300)
	def(&c.FinetuneSize, 32)
	def(&c.PretrainComparisons, 16000)
	def(&c.PretrainSteps, 600)
	def(&c.EvalComparisons, 1000)
	def(&c.Batch, 32)
	if c.LR == 0 {
		c.LR = 2e-3
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c StudyConfig) Validate() error {
	errs := []error{c.Task.Validate()}
	for _, o := range c.Objectives {
		if _, err := ParseObjective(string(o)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range append(append([]int{c.FinetuneSize}, c.Sizes...), c.Finetune...) {
		if s < 1 {
			errs = append(errs, fmt.Errorf("lab: study sizes and comparison counts must be positive, got %d", s))
		}
	}
	return errors.Join(errs...)
}

// Cell is one training run of a study.
type Cell struct {
	// Sweep is "size" or "finetune".
	Sweep       string    `json:"sweep"`
	DModel      int       `json:"d_model"`
	Objective   Objective `json:"objective"`
	Comparisons int       `json:"comparisons"`
	Pretrained  bool      `json:"pretrained"`
}

// Key names the cell in the rows file.
func (c Cell) Key() string {
	return fmt.Sprintf("%s/d%d/%s/n%d/pmp=%t", c.Sweep, c.DModel, c.Objective, c.Comparisons, c.Pretrained)
}

// Cells lists the study's runs in a fixed order.
func (c StudyConfig) Cells() []Cell {
	var out []Cell
	for _, d := range c.Sizes {
		for _, o := range c.Objectives {
			out = append(out, Cell{Sweep: "size", DModel: d, Objective: o, Comparisons: c.Comparisons})
		}
	}
	for _, n := range c.Finetune {
		for _, pmp := range []bool{false, true} {
			out = append(out, Cell{Sweep: "finetune", DModel: c.FinetuneSize, Objective: Preference, Comparisons: n, Pretrained: pmp})
		}
	}
	return out
}

// StudyRow is one finished cell.
type StudyRow struct {
	Cell
	Params int     `json:"params"`
	Final  Metrics `json:"final"`
}

// MarshalJSON writes NaN as null.
func (r StudyRow) MarshalJSON() ([]byte, error) {
	type plain StudyRow
	return jsonx.Marshal(plain(r))
}

// model is the size sweep's model of width d: heads of width 8, at least one.
func (c StudyConfig) model(d int) models.Config {
	return taskModel(models.Config{NHeads: max(d/8, 1), DModel: d}, c.Task, c.Seed)
}

func (c StudyConfig) train(obj Objective, steps int) TrainConfig {
	return TrainConfig{Objective: obj, Steps: steps, Batch: c.Batch, LR: c.LR, EvalEvery: steps, Seed: c.Seed}
}

// RunStudy runs the cells of shard i of n (cells whose index is i mod n)
// that dir's rows file does not hold yet, appending each row as it
// finishes; progress, if set, hears of each. It returns every row dir holds
// afterwards.
func RunStudy(cfg StudyConfig, dir string, shard, shards int, progress io.Writer) ([]StudyRow, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if shards < 1 || shard < 0 || shard >= shards {
		return nil, fmt.Errorf("lab: shard %d/%d (want 0 ≤ i < n)", shard, shards)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	// Rows are keyed by cell, not by config: resuming under another config
	// would mix two studies.
	if old, err := os.ReadFile(filepath.Join(dir, StudyConfigFile)); err == nil && string(old) != string(b) {
		return nil, fmt.Errorf("lab: %s holds a study with another config (%s); use a new directory", dir, StudyConfigFile)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, StudyConfigFile), b); err != nil {
		return nil, err
	}
	rows, err := ReadStudyRows(dir)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, r := range rows {
		done[r.Key()] = true
	}
	evalSet := cfg.Task.Comparisons(SetEval, cfg.EvalComparisons)
	for i, cell := range cfg.Cells() {
		if i%shards != shard || done[cell.Key()] {
			continue
		}
		row, err := cfg.runCell(cell, dir, evalSet)
		if err != nil {
			return nil, fmt.Errorf("lab: study cell %s: %w", cell.Key(), err)
		}
		if err := appendRow(filepath.Join(dir, StudyRowsFile), row); err != nil {
			return nil, err
		}
		if progress != nil {
			fmt.Fprintf(progress, "%s: accuracy %.3f, Spearman %.3f\n", cell.Key(), row.Final.Accuracy, row.Final.Spearman)
		}
	}
	return ReadStudyRows(dir)
}

func (cfg StudyConfig) runCell(cell Cell, dir string, evalSet []Comparison) (StudyRow, error) {
	var pm *PrefModel
	steps := cfg.Steps
	switch {
	case cell.Pretrained:
		var err error
		if pm, err = cfg.pretrained(dir); err != nil {
			return StudyRow{}, err
		}
		steps = cfg.FinetuneSteps
	default:
		m, err := models.New(cfg.model(cell.DModel))
		if err != nil {
			return StudyRow{}, err
		}
		pm = NewPrefModel(m, cfg.Seed)
		if cell.Sweep == "finetune" {
			steps = cfg.FinetuneSteps
		}
	}
	h, err := Train(pm, cfg.Task.Comparisons(SetTrain, cell.Comparisons), evalSet, cfg.train(cell.Objective, steps), nil)
	if err != nil {
		return StudyRow{}, err
	}
	return StudyRow{Cell: cell, Params: pm.Model.NumParams() + len(pm.Head), Final: h.Final}, nil
}

// pretrained loads dir's pre-trained preference model, training and saving
// it first if it is missing.
func (cfg StudyConfig) pretrained(dir string) (*PrefModel, error) {
	path := filepath.Join(dir, PretrainedDir)
	if pm, err := LoadPrefModel(path); err == nil {
		return pm, nil
	}
	broad := cfg.Task
	broad.ClassShift = 1
	broad.Seed = cfg.Task.Seed + 1000
	m, err := models.New(cfg.model(cfg.FinetuneSize))
	if err != nil {
		return nil, err
	}
	pm := NewPrefModel(m, cfg.Seed)
	if _, err := Train(pm, broad.Comparisons(SetTrain, cfg.PretrainComparisons), broad.Comparisons(SetEval, 200),
		cfg.train(Preference, cfg.PretrainSteps), nil); err != nil {
		return nil, fmt.Errorf("pre-training: %w", err)
	}
	if err := pm.Save(path); err != nil {
		return nil, err
	}
	return pm, nil
}

func appendRow(path string, row StudyRow) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	// A torn last line (an interrupted append) is ended first, so that the
	// new row starts a line of its own.
	if old, err := os.ReadFile(path); err == nil && len(old) > 0 && old[len(old)-1] != '\n' {
		b = append([]byte{'\n'}, b...)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("lab: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("lab: %w", err)
	}
	return f.Close()
}

// ReadStudyRows reads a study directory's rows (none if the file is
// missing); a cell written twice keeps its last row, and a torn last line
// (an interrupted append) is ignored.
func ReadStudyRows(dir string) ([]StudyRow, error) {
	f, err := os.Open(filepath.Join(dir, StudyRowsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	var rows []StudyRow
	at := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r StudyRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			continue // a torn append; the cell reruns
		}
		if k, ok := at[r.Key()]; ok {
			rows[k] = r
			continue
		}
		at[r.Key()] = len(rows)
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// ReadStudyConfig reads a study directory's resolved config.
func ReadStudyConfig(dir string) (StudyConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, StudyConfigFile))
	if err != nil {
		return StudyConfig{}, fmt.Errorf("lab: %w", err)
	}
	var c StudyConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return StudyConfig{}, fmt.Errorf("lab: %s: %w", filepath.Join(dir, StudyConfigFile), err)
	}
	return c, nil
}
