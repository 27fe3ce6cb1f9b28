package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// Files of a run directory and of a checkpoint's training state.
const (
	MetricsFile         = "metrics.jsonl"
	CheckpointsDir      = "checkpoints"
	OptimizerFile       = "optimizer.safetensors"
	TrainingStateFile   = "training_state.json"
	trainingStateFormat = "mechinterp-training-state/1"
)

// State is training_state.json: what, beside the weights and the optimizer
// moments, a run needs to continue exactly where it stopped.
type State struct {
	Format string `json:"format"`
	// Step is the number of updates taken; the weights are those after it.
	Step int `json:"step"`
	// Tokens is the number of training tokens seen (targets, B·T per step).
	Tokens int64 `json:"tokens_seen"`
	// ElapsedSeconds is the wall time spent training so far, across resumes.
	ElapsedSeconds float64 `json:"elapsed_s"`
	// DataState is the training source's State (base64 in JSON).
	DataState []byte `json:"data_state"`
	// LR is the learning rate of the last update taken (0 at step 0).
	LR float64 `json:"lr"`
	// Config is the training configuration, schedule included.
	Config Config `json:"train"`
	// CheckpointSteps is the full list of steps the schedule saves.
	CheckpointSteps []int `json:"checkpoint_steps"`
}

// Checkpoint names one checkpoint directory of a run.
type Checkpoint struct {
	Step int
	Dir  string
}

var stepDirRE = regexp.MustCompile(`^step-([0-9]+)$`)

// StepDir returns the directory of the checkpoint at step in run directory run:
// run/checkpoints/step-000123 (six digits, more when needed).
func StepDir(run string, step int) string {
	return filepath.Join(run, CheckpointsDir, fmt.Sprintf("step-%06d", step))
}

// Checkpoints lists the complete checkpoints of a run directory, by step.
// Temporary directories of an interrupted write are not listed. A run
// without a checkpoints directory has none (and no error).
func Checkpoints(run string) ([]Checkpoint, error) {
	ents, err := os.ReadDir(filepath.Join(run, CheckpointsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: listing checkpoints: %w", err)
	}
	var out []Checkpoint
	for _, e := range ents {
		m := stepDirRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		out = append(out, Checkpoint{Step: step, Dir: filepath.Join(run, CheckpointsDir, e.Name())})
	}
	slices.SortFunc(out, func(a, b Checkpoint) int { return a.Step - b.Step })
	return out, nil
}

// removeStrayTemps removes the temporary directories (step-N.tmp-*) that
// checkpoint writes killed mid-way left in a run's checkpoints directory.
// Training calls it when it starts, as the run's only writer; the previous
// versions a crash may leave (step-N.old-*) are kept, as they may be the
// only copy (see atomicfile.OldVersions).
func removeStrayTemps(run string) error {
	stray, err := filepath.Glob(filepath.Join(run, CheckpointsDir, "step-*.tmp-*"))
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	for _, dir := range stray {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("train: removing the temporary directory of an interrupted checkpoint: %w", err)
		}
	}
	return nil
}

// Latest returns the checkpoint of a run with the highest step, and false
// when there is none.
func Latest(run string) (Checkpoint, bool, error) {
	cps, err := Checkpoints(run)
	if err != nil || len(cps) == 0 {
		return Checkpoint{}, false, err
	}
	return cps[len(cps)-1], true, nil
}

// PruneOptimizerStates removes the optimizer moments from every checkpoint
// of a run but the latest: two thirds of a checkpoint's size, needed only to
// resume from it. The weights stay, so every checkpoint can still be loaded
// and probed, and the run can still be resumed (or extended) from its
// latest checkpoint. It returns the number of bytes freed.
func PruneOptimizerStates(run string) (int64, error) {
	cps, err := Checkpoints(run)
	if err != nil || len(cps) < 2 {
		return 0, err
	}
	var freed int64
	for _, cp := range cps[:len(cps)-1] {
		path := filepath.Join(cp.Dir, OptimizerFile)
		fi, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return freed, fmt.Errorf("train: %w", err)
		}
		if err := os.Remove(path); err != nil {
			return freed, fmt.Errorf("train: %w", err)
		}
		freed += fi.Size()
	}
	return freed, nil
}

// saveCheckpoint writes the weights, optimizer moments and state of step
// st.Step, and copies of files, into its directory, atomically
// (models.SaveParams).
func saveCheckpoint(run string, m *models.Model, opt *AdamW[float32], st *State, files []string) (string, error) {
	dir := StepDir(run, st.Step)
	stateJSON, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", fmt.Errorf("train: checkpoint at step %d: %w", st.Step, err)
	}
	moments := make(map[string]*tensor.Tensor, 2*len(m.Params.List()))
	for _, q := range m.Params.List() {
		n := tensor.Numel(q.Shape)
		moments[q.Name+".exp_avg"] = tensor.View(opt.M[q.Offset:q.Offset+n], q.Shape...)
		moments[q.Name+".exp_avg_sq"] = tensor.View(opt.V[q.Offset:q.Offset+n], q.Shape...)
	}
	meta := map[string]string{"optimizer": "AdamW", "step": strconv.Itoa(opt.T)}
	err = models.SaveParams(dir, m.Config, m.Params, func(tmp string) error {
		if err := safetensors.Write(filepath.Join(tmp, OptimizerFile), moments, meta); err != nil {
			return err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(tmp, TrainingStateFile), append(stateJSON, '\n'), 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("train: checkpoint at step %d: %w", st.Step, err)
	}
	return dir, nil
}

// ReadState reads a checkpoint's training_state.json.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, TrainingStateFile))
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %w", dir, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %s: %w", dir, TrainingStateFile, err)
	}
	if st.Format != trainingStateFormat {
		return nil, fmt.Errorf("train: checkpoint %s: %s has format %q, want %q", dir, TrainingStateFile, st.Format, trainingStateFormat)
	}
	return &st, nil
}

// loadCheckpoint restores weights into m, the moments into opt and returns
// the state, checking that the checkpoint's model matches m's.
func loadCheckpoint(dir string, m *models.Model, opt *AdamW[float32]) (*State, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	cfg, p, err := models.LoadParams(dir)
	if err != nil {
		return nil, fmt.Errorf("train: resuming from %s: %w", dir, err)
	}
	if cfg != m.Config.WithDefaults() {
		return nil, fmt.Errorf("train: resuming from %s: its model config %+v differs from the run's %+v", dir, cfg, m.Config)
	}
	if len(p.Data) != len(m.Params.Data) {
		return nil, fmt.Errorf("train: resuming from %s: %d parameters, model has %d", dir, len(p.Data), len(m.Params.Data))
	}
	f, err := safetensors.Open(filepath.Join(dir, OptimizerFile))
	if err != nil {
		return nil, fmt.Errorf("train: resuming from %s: %w", dir, err)
	}
	defer f.Close()
	for _, q := range m.Params.List() {
		n := tensor.Numel(q.Shape)
		if err := f.ReadInto(q.Name+".exp_avg", opt.M[q.Offset:q.Offset+n]); err != nil {
			return nil, fmt.Errorf("train: resuming from %s: %w", dir, err)
		}
		if err := f.ReadInto(q.Name+".exp_avg_sq", opt.V[q.Offset:q.Offset+n]); err != nil {
			return nil, fmt.Errorf("train: resuming from %s: %w", dir, err)
		}
	}
	copy(m.Params.Data, p.Data)
	opt.T = st.Step
	return st, nil
}
