package repeated

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// Layout of a study directory. Each run directory is an ordinary training
// run (run.yaml, checkpoints/, metrics.jsonl: package run's layout), so
// `mechinterp track`, `heads` and `attention` work on it too.
const (
	StudyFile    = "study.json"    // the resolved study, rewritten by every Execute
	RunsDir      = "runs"          // one directory per run, named by its ID
	MeasureFile  = "measure.jsonl" // rows measured so far (a cache)
	ResultsJSONL = "results.jsonl" // per run: its rows, written when complete; per study: every row
	ResultsCSV   = "results.csv"   // per study: every row
)

// RunDir is the directory of run id in study directory dir.
func RunDir(dir, id string) string { return filepath.Join(dir, RunsDir, id) }

// Options configure Execute.
type Options struct {
	// Dir is the study directory.
	Dir string
	// Workers is the number of runs trained at once (default GOMAXPROCS).
	Workers int
	// Event, if set, is called (from the workers, one call at a time) when a
	// run starts, is skipped, finishes or fails.
	Event func(Event)
	// Step, if set, is called after every training step of every run (from
	// the workers, concurrently).
	Step func(r Run, step, total int)
}

// Event reports progress of Execute.
type Event struct {
	Run Run
	// Kind is "start", "skip" (already complete), "busy" (another process
	// is running it: skipped), "done", "interrupted" or "failed".
	Kind string
	// ResumedFrom is the checkpoint step a started run continued from (-1:
	// from scratch).
	ResumedFrom int
	Err         error
	Elapsed     time.Duration
}

// runInfo is what a run is made with: its training run (model, data,
// train: run.yaml) and its place in the study. It is also the layout of the
// run.json that run directories held before run.yaml, still accepted.
type runInfo struct {
	Run   Run           `json:"run"`
	Model models.Config `json:"model"`
	Data  data.Config   `json:"data"`
	Train train.Config  `json:"train"`
	Eval  Eval          `json:"eval"`
}

// config is the run's training run, as its run.yaml records it.
func (i runInfo) config() run.Config {
	return run.Config{Model: i.Model, Data: i.Data, Train: i.Train}
}

// Execute trains and measures runs (a study's, or one shard of them) in
// o.Dir, o.Workers at a time. A complete run keeps the weights of every
// checkpoint but the optimizer moments of its last one only
// (train.PruneOptimizerStates). A run whose results are already there is
// skipped; a run with checkpoints continues from its latest one (training
// resumes exactly, so the results equal those of an uninterrupted run).
// When ctx is cancelled, running runs save a checkpoint and Execute returns
// an error wrapping train.ErrInterrupted. A failing run does not stop the
// others; Execute returns the failures joined.
func Execute(ctx context.Context, s Study, runs []Run, o Options) error {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return err
	}
	if o.Dir == "" {
		return errors.New("repeated: no study directory")
	}
	if err := sameEval(o.Dir, s.Eval); err != nil {
		return err
	}
	// Every check before study.json is rewritten: a study refused for a
	// changed config must leave the old study.json, which the table and the
	// report read, as it was.
	if err := sameRunConfigs(s, o.Dir); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(o.Dir, StudyFile), s); err != nil {
		return fmt.Errorf("repeated: %w", err)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var mu sync.Mutex
	event := func(e Event) {
		if o.Event != nil {
			mu.Lock()
			defer mu.Unlock()
			o.Event(e)
		}
	}
	var errs []error
	perr := parallel.Each(len(runs), workers, func() bool { return ctx.Err() != nil }, func(i int) {
		r := runs[i]
		began := time.Now()
		err := executeRun(ctx, s, r, o, event)
		kind := "done"
		switch {
		case errors.Is(err, errSkipped):
			return
		case errors.Is(err, train.ErrInterrupted):
			kind = "interrupted"
		case err != nil:
			kind = "failed"
		}
		event(Event{Run: r, Kind: kind, Err: err, Elapsed: time.Since(began)})
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("run %s: %w", r.ID, err))
			mu.Unlock()
		}
	})
	if perr != nil {
		errs = append(errs, fmt.Errorf("repeated: %w", perr))
	}
	if ctx.Err() != nil && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: %w", train.ErrInterrupted, ctx.Err()))
	}
	return errors.Join(errs...)
}

var (
	errSkipped = errors.New("skipped")
	errBusy    = errors.New("another process is running it")
)

// lockFile is the file a run directory is locked through (see lockRun).
const lockFile = ".lock"

// executeRun trains run r (resuming it) and measures its checkpoints.
func executeRun(ctx context.Context, s Study, r Run, o Options, event func(Event)) error {
	rd := RunDir(o.Dir, r.ID)
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", train.ErrInterrupted, ctx.Err())
	}
	env, err := newRunEnv(s, r)
	if err != nil {
		return err
	}
	unlock, err := lockRun(rd)
	if errors.Is(err, errBusy) {
		event(Event{Run: r, Kind: "busy"})
		return errSkipped
	}
	if err != nil {
		return err
	}
	defer unlock()
	if err := claimRunDir(rd, env.info); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(rd, ResultsJSONL)); err == nil {
		event(Event{Run: r, Kind: "skip"})
		return errSkipped
	}
	if err := env.load(); err != nil { // before training, so that bad data fails fast
		return err
	}
	resumed := -1
	if cp, ok, err := train.Latest(rd); err != nil {
		return err
	} else if ok {
		resumed = cp.Step
	}
	event(Event{Run: r, Kind: "start", ResumedFrom: resumed})
	ro := run.Options{Resume: true}
	if o.Step != nil {
		total := env.info.Train.Steps
		ro.OnStep = func(m train.Metrics) { o.Step(r, m.Step, total) }
	}
	if _, err := run.Start(ctx, rd, env.info.config(), ro); err != nil {
		return err
	}
	rows, err := env.measureAll(ctx, rd)
	if err != nil {
		return err
	}
	if err := writeRows(filepath.Join(rd, ResultsJSONL), rows); err != nil {
		return err
	}
	// Measured and complete: only resuming needs optimizer moments, and only
	// from the last checkpoint. The weights of every checkpoint stay.
	_, err = train.PruneOptimizerStates(rd)
	return err
}

// sameRunConfigs checks every run of s that already has a directory in dir
// against the settings s gives it (sameRunConfig).
func sameRunConfigs(s Study, dir string) error {
	for _, r := range s.Runs() {
		rd := RunDir(dir, r.ID)
		if !exists(rd) {
			continue
		}
		env, err := newRunEnv(s, r)
		if err != nil {
			return fmt.Errorf("run %s: %w", r.ID, err)
		}
		if err := sameRunConfig(rd, env.info); err != nil {
			return fmt.Errorf("run %s: %w", r.ID, err)
		}
	}
	return nil
}

// sameRunConfig checks that an existing run directory was made with the
// settings of info: its run.yaml, or for a directory of before run.yaml its
// run.json. A directory holding neither passes.
func sameRunConfig(rd string, info runInfo) error {
	path := filepath.Join(rd, run.ConfigFile)
	legacy := filepath.Join(rd, run.LegacyConfigFile)
	switch {
	case exists(path):
		have, err := run.ReadConfig(rd)
		if err != nil {
			return err
		}
		if string(have.YAML()) != string(info.config().YAML()) {
			return fmt.Errorf("%s was made with other settings than this study's (model, data or train changed); use another --out, or remove the run's directory to redo it", path)
		}
	case exists(legacy):
		return sameLegacy(legacy, info)
	}
	return nil
}

// claimRunDir writes run.yaml into a new run directory, or checks that an
// existing one was made with the same settings (sameRunConfig). A directory
// of before run.yaml has its run.json checked instead, and gets a run.yaml.
func claimRunDir(rd string, info runInfo) error {
	if err := sameRunConfig(rd, info); err != nil {
		return err
	}
	if exists(filepath.Join(rd, run.ConfigFile)) {
		return nil
	}
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return err
	}
	return run.WriteConfig(rd, info.config())
}

// sameLegacy checks a run.json against the run's settings.
func sameLegacy(path string, info runInfo) error {
	want, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	have, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var old runInfo
	if err := json.Unmarshal(have, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if oldJS, _ := json.MarshalIndent(old, "", "  "); string(oldJS) != string(want) {
		return fmt.Errorf("%s was made with other settings than this study's (model, data, train or eval changed); use another --out, or remove the run's directory to redo it", path)
	}
	return nil
}

// sameEval refuses a study directory whose runs were measured with other
// evaluation settings (their rows would mix two measurements). A directory
// without runs yet takes the new settings.
func sameEval(dir string, ev Eval) error {
	old, err := ReadStudy(dir)
	if err != nil {
		return nil // a new study directory
	}
	if old.Eval == ev {
		return nil
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, RunsDir)); len(ents) == 0 {
		return nil
	}
	return fmt.Errorf("%s was measured with other eval settings (%+v, now %+v); use another --out", filepath.Join(dir, StudyFile), old.Eval, ev)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
