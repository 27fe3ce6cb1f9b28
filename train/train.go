package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/mechinterp/mechinterp/models"
)

// Source is a deterministic stream of training batches. Package data's
// sources satisfy it through a small adapter (see cmd/mechinterp), so that
// train does not depend on data.
type Source interface {
	// Next fills tokens and targets, each [B,T] row-major, with the next B
	// sequences of the stream; targets[i] is the token that follows
	// tokens[i] (a negative target is ignored by the loss).
	Next(tokens, targets []int, B, T int) error
	// State returns the stream position; Restore sets it back, so that a
	// resumed run sees the same batches as an uninterrupted one.
	State() ([]byte, error)
	Restore(state []byte) error
}

// Options describe one training run.
type Options struct {
	// Model is trained in place. Its configuration must match the
	// checkpoints of Dir when resuming.
	Model *models.Model
	// Config is the training configuration; see [DefaultConfig].
	Config Config
	// Dir is the run directory: metrics.jsonl and checkpoints/ go there.
	Dir string
	// Train supplies the training batches.
	Train Source
	// Eval, if set (and Config.EvalEvery > 0), supplies the held-out
	// batches: Config.EvalBatches of them are drawn once at the start (from
	// the source's initial position) and reused at every evaluation. Its
	// state is not saved; a resumed run draws the same batches again from a
	// source built the same way.
	Eval Source
	// Resume continues from the latest checkpoint in Dir; without one, the
	// run starts from the beginning. Without Resume, a Dir that already holds
	// checkpoints is an error.
	Resume bool
	// Progress receives a status line redrawn in place (nil: none). Pass
	// os.Stderr only when [IsTerminal] says it is one.
	Progress io.Writer
	// Hook, if set, is passed to every training Forward (not to held-out
	// evaluations).
	Hook models.HookFunc
	// OnStep, if set, is called with each metrics line after it is written.
	OnStep func(Metrics)
}

// Result summarizes a run.
type Result struct {
	// Dir is the run directory.
	Dir string
	// Step is the number of updates completed; Tokens the tokens seen.
	Step   int
	Tokens int64
	// Loss is the training loss of the last update; EvalLoss the last
	// held-out loss (NaN if none was computed).
	Loss, EvalLoss float64
	// ResumedFrom is the checkpoint step the run continued from, or -1.
	ResumedFrom int
	// Checkpoints lists the checkpoint directories written by this call.
	Checkpoints []string
	// Elapsed is the wall time of this call.
	Elapsed time.Duration
	// Interrupted is set when the context was cancelled: the run stopped
	// after a complete step and saved it.
	Interrupted bool
}

// ErrInterrupted is returned (wrapped, with the context's error) when the
// context is cancelled; the run saved a checkpoint at the step it reached.
var ErrInterrupted = errors.New("training interrupted")

// NonFiniteError reports a NaN or Inf loss, gradient norm or parameter.
// Nothing of the failing step was written; LastCheckpoint is the last good
// checkpoint directory ("" if none).
type NonFiniteError struct {
	Step           int
	What           string // "loss", "gradient norm", "parameters", "held-out loss"
	Value          float64
	LastCheckpoint string
}

func (e *NonFiniteError) Error() string {
	last := "no checkpoint was written"
	if e.LastCheckpoint != "" {
		last = "last good checkpoint: " + e.LastCheckpoint
	}
	return fmt.Sprintf("train: %s is %v at step %d; training stopped (%s)", e.What, e.Value, e.Step, last)
}

// Run trains opts.Model for opts.Config.Steps updates with AdamW, a warmup +
// cosine learning-rate schedule and global-norm clipping, writing metrics and
// checkpoints into opts.Dir. See the package documentation for the layout.
//
// Run stops with a *[NonFiniteError] when the loss, the gradient norm or the
// parameters stop being finite, before anything of that step is written. When
// ctx is cancelled it finishes the current step, saves a checkpoint and
// returns the result with an error wrapping [ErrInterrupted].
func Run(ctx context.Context, opts Options) (*Result, error) {
	began := time.Now()
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := opts.Model
	switch {
	case m == nil:
		return nil, errors.New("train: no model")
	case opts.Train == nil:
		return nil, errors.New("train: no training source")
	case opts.Dir == "":
		return nil, errors.New("train: no run directory")
	}
	B, T := cfg.BatchSize, cfg.SeqLen
	if T == 0 {
		T = m.Config.NCtx
	}
	if T > m.Config.NCtx {
		return nil, fmt.Errorf("train: seq_len %d exceeds the model's n_ctx %d", T, m.Config.NCtx)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}

	opt := NewAdamW(m.Params, cfg)
	schedule := cfg.Checkpoints.List(cfg.Steps)
	st := &State{Format: trainingStateFormat, Config: cfg, CheckpointSteps: schedule}
	res := &Result{Dir: opts.Dir, ResumedFrom: -1, EvalLoss: math.NaN(), Loss: math.NaN()}

	latest, have, err := Latest(opts.Dir)
	if err != nil {
		return nil, err
	}
	if have && !opts.Resume {
		return nil, fmt.Errorf("train: %s already holds checkpoints (latest %s); resume it or choose another directory", opts.Dir, latest.Dir)
	}
	lastGood := ""
	if have {
		old, err := loadCheckpoint(latest.Dir, m, opt)
		if err != nil {
			return nil, err
		}
		if err := sameArithmetic(old.Config, cfg); err != nil {
			return nil, fmt.Errorf("train: resuming from %s: %w", latest.Dir, err)
		}
		if err := opts.Train.Restore(old.DataState); err != nil {
			return nil, fmt.Errorf("train: resuming from %s: restoring the data source: %w", latest.Dir, err)
		}
		st.Step, st.Tokens, st.ElapsedSeconds, st.LR = old.Step, old.Tokens, old.ElapsedSeconds, old.LR
		res.ResumedFrom = old.Step
		lastGood = latest.Dir
	}
	if st.Step > cfg.Steps {
		return nil, fmt.Errorf("train: the latest checkpoint (step %d) is past steps=%d", st.Step, cfg.Steps)
	}
	keep := -1
	if have {
		keep = st.Step
	}
	log, err := openMetrics(opts.Dir, keep)
	if err != nil {
		return nil, err
	}
	defer log.close()

	// Held-out batches, drawn once.
	var evalTok, evalTgt [][]int
	if opts.Eval != nil && cfg.EvalEvery > 0 {
		for range cfg.EvalBatches {
			tok, tgt := make([]int, B*T), make([]int, B*T)
			if err := opts.Eval.Next(tok, tgt, B, T); err != nil {
				return nil, fmt.Errorf("train: held-out batch: %w", err)
			}
			evalTok, evalTgt = append(evalTok, tok), append(evalTgt, tgt)
		}
	}
	evaluate := func(step int) (*float64, error) {
		if evalTok == nil {
			return nil, nil
		}
		sum := 0.0
		for i := range evalTok {
			p, err := m.Forward(evalTok[i], B, T, evalTgt[i], nil)
			if err != nil {
				return nil, fmt.Errorf("train: held-out loss at step %d: %w", step, err)
			}
			sum += float64(p.Loss)
			p.Release()
		}
		l := sum / float64(len(evalTok))
		if !finite(l) {
			return nil, &NonFiniteError{Step: step, What: "held-out loss", Value: l, LastCheckpoint: lastGood}
		}
		res.EvalLoss = l
		return &l, nil
	}
	isCheckpoint := make(map[int]bool, len(schedule))
	for _, s := range schedule {
		isCheckpoint[s] = true
	}
	runStart := time.Now()
	elapsed0 := st.ElapsedSeconds
	save := func() error {
		st.ElapsedSeconds = elapsed0 + time.Since(runStart).Seconds()
		if !allFinite(m.Params.Data) {
			return &NonFiniteError{Step: st.Step, What: "parameters", Value: math.NaN(), LastCheckpoint: lastGood}
		}
		ds, err := opts.Train.State()
		if err != nil {
			return fmt.Errorf("train: data source state at step %d: %w", st.Step, err)
		}
		st.DataState = ds
		dir, err := saveCheckpoint(opts.Dir, m, opt, st)
		if err != nil {
			return err
		}
		lastGood = dir
		res.Checkpoints = append(res.Checkpoints, dir)
		return nil
	}
	emit := func(line *Metrics) error {
		if err := log.write(line); err != nil {
			return err
		}
		if opts.OnStep != nil {
			opts.OnStep(*line)
		}
		return nil
	}

	if !have {
		ev, err := evaluate(0)
		if err != nil {
			return nil, err
		}
		if ev != nil {
			if err := emit(&Metrics{Step: 0, EvalLoss: ev, LR: 0}); err != nil {
				return nil, err
			}
		}
	}

	tokens, targets := make([]int, B*T), make([]int, B*T)
	grads := m.Params.ZerosLike()
	fwd := &models.Options{Hook: opts.Hook}
	bar := newProgress(opts.Progress, st.Step, cfg.Steps)
	defer bar.done()
	startStep := st.Step
	savedAt := -1
	if have {
		savedAt = st.Step
	} else if isCheckpoint[0] {
		if err := save(); err != nil {
			return res, err
		}
		savedAt = 0
	}
	defer func() { res.Step, res.Tokens, res.Elapsed = st.Step, st.Tokens, time.Since(began) }()
	for st.Step < cfg.Steps {
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		step := st.Step + 1
		if err := opts.Train.Next(tokens, targets, B, T); err != nil {
			return res, fmt.Errorf("train: batch for step %d: %w", step, err)
		}
		pass, err := m.Forward(tokens, B, T, targets, fwd)
		if err != nil {
			return res, fmt.Errorf("train: step %d: %w", step, err)
		}
		loss := float64(pass.Loss)
		if !finite(loss) {
			return res, &NonFiniteError{Step: step, What: "loss", Value: loss, LastCheckpoint: lastGood}
		}
		clear(grads.Data)
		if err := m.Backward(pass, grads, nil); err != nil {
			return res, fmt.Errorf("train: step %d: %w", step, err)
		}
		passLoss := pass.Loss
		pass.Release() // its buffers serve the next step's Forward
		norm := ClipGlobalNorm(grads.Data, cfg.GradClip)
		if !finite(norm) {
			return res, &NonFiniteError{Step: step, What: "gradient norm", Value: norm, LastCheckpoint: lastGood}
		}
		lr := LR(step-1, cfg.Steps, cfg.Warmup, cfg.LR, cfg.MinLR)
		if err := opt.Step(m.Params.Data, grads.Data, lr); err != nil {
			return res, err
		}
		if !allFinite(m.Params.Data) {
			return res, &NonFiniteError{Step: step, What: "parameters", Value: math.NaN(), LastCheckpoint: lastGood}
		}
		st.Step, st.LR = step, lr
		st.Tokens += int64(B * T)
		res.Loss = loss

		line := Metrics{Step: step, Tokens: st.Tokens, Loss: &loss, LR: lr, GradNorm: &norm}
		if cfg.EvalEvery > 0 && (step%cfg.EvalEvery == 0 || step == cfg.Steps) {
			if line.EvalLoss, err = evaluate(step); err != nil {
				return res, err
			}
		}
		since := time.Since(runStart).Seconds()
		line.Time = elapsed0 + since
		line.TokensPerSecond = float64(int64(step-startStep)*int64(B*T)) / max(since, 1e-9)
		if err := emit(&line); err != nil {
			return res, err
		}
		if isCheckpoint[step] {
			if err := save(); err != nil {
				return res, err
			}
			savedAt = step
		}
		bar.update(step, passLoss, line.TokensPerSecond, step == cfg.Steps)
	}
	if res.Interrupted && savedAt != st.Step {
		if err := save(); err != nil {
			return res, err
		}
	}
	if res.Interrupted {
		return res, fmt.Errorf("%w at step %d (checkpoint %s): %w", ErrInterrupted, st.Step, lastGood, ctx.Err())
	}
	return res, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// allFinite reports whether every value is finite: x−x is 0 for finite x and
// NaN for NaN and ±Inf.
func allFinite(s []float32) bool {
	var acc float32
	for _, x := range s {
		acc += x - x
	}
	return acc == 0
}
