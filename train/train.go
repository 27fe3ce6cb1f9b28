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
// sources satisfy it through data.NewPairs (package run wires them), so that
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
	// CheckpointFiles are files copied into every checkpoint beside the
	// weights (a run's tokenizer, so that a checkpoint directory carries it
	// as a Hugging Face model directory does).
	CheckpointFiles []string
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
	t, err := newTrainer(opts)
	if err != nil {
		return nil, err
	}
	if err := t.resume(); err != nil {
		return nil, err
	}
	if err := removeStrayTemps(opts.Dir); err != nil {
		return nil, err
	}
	if t.log, err = openMetrics(opts.Dir, t.keepMetrics()); err != nil {
		return nil, err
	}
	defer t.log.close()
	if err := t.drawEval(); err != nil {
		return nil, err
	}
	t.runStart, t.elapsed0 = time.Now(), t.st.ElapsedSeconds
	if !t.resumed {
		if err := t.evalStart(); err != nil {
			return nil, err
		}
	}
	defer func() { t.res.Step, t.res.Tokens, t.res.Elapsed = t.st.Step, t.st.Tokens, time.Since(began) }()
	return t.res, t.loop(ctx)
}

// trainer is one call of Run: the run's settings, its optimizer and
// training state, and the buffers every step reuses.
type trainer struct {
	opts Options
	cfg  Config
	m    *models.Model
	opt  *AdamW[float32]
	B, T int
	// schedule lists the checkpoint steps; isCheckpoint indexes it.
	schedule     []int
	isCheckpoint map[int]bool
	st           *State
	res          *Result
	log          *metricsLog
	// resumed is set when the run continued from a checkpoint; lastGood is
	// the last checkpoint written or resumed from ("" if none).
	resumed  bool
	lastGood string
	// evalTok and evalTgt are the held-out batches, drawn once.
	evalTok, evalTgt [][]int
	// runStart and elapsed0 time this call, on top of the time the run
	// had taken before it resumed.
	runStart time.Time
	elapsed0 float64
}

// newTrainer checks opts and sets up the optimizer and the schedule.
func newTrainer(opts Options) (*trainer, error) {
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
	t := &trainer{opts: opts, cfg: cfg, m: m, opt: NewAdamW(m.Params, cfg), B: B, T: T,
		schedule: cfg.Checkpoints.List(cfg.Steps)}
	t.isCheckpoint = make(map[int]bool, len(t.schedule))
	for _, s := range t.schedule {
		t.isCheckpoint[s] = true
	}
	t.st = &State{Format: trainingStateFormat, Config: cfg, CheckpointSteps: t.schedule}
	t.res = &Result{Dir: opts.Dir, ResumedFrom: -1, EvalLoss: math.NaN(), Loss: math.NaN()}
	return t, nil
}

// resume loads the latest checkpoint of the directory, if any, into the
// model, the optimizer, the data source and the training state.
func (t *trainer) resume() error {
	latest, have, err := Latest(t.opts.Dir)
	if err != nil {
		return err
	}
	if have && !t.opts.Resume {
		return fmt.Errorf("train: %s already holds checkpoints (latest %s); resume it or choose another directory", t.opts.Dir, latest.Dir)
	}
	if have {
		old, err := loadCheckpoint(latest.Dir, t.m, t.opt)
		if err != nil {
			return err
		}
		if err := sameArithmetic(old.Config, t.cfg); err != nil {
			return fmt.Errorf("train: resuming from %s: %w", latest.Dir, err)
		}
		if err := t.opts.Train.Restore(old.DataState); err != nil {
			return fmt.Errorf("train: resuming from %s: restoring the data source: %w", latest.Dir, err)
		}
		t.st.Step, t.st.Tokens, t.st.ElapsedSeconds, t.st.LR = old.Step, old.Tokens, old.ElapsedSeconds, old.LR
		t.res.ResumedFrom = old.Step
		t.lastGood = latest.Dir
		t.resumed = true
	}
	if t.st.Step > t.cfg.Steps {
		return fmt.Errorf("train: the latest checkpoint (step %d) is past steps=%d", t.st.Step, t.cfg.Steps)
	}
	return nil
}

// keepMetrics is the last step of metrics.jsonl to keep: the resumed
// checkpoint's (lines after it are retrained), or -1 for a run that starts
// from step 0, whose log starts afresh (an earlier attempt that crashed
// before its first checkpoint left lines nothing will continue).
func (t *trainer) keepMetrics() int {
	if t.resumed {
		return t.st.Step
	}
	return -1
}

// drawEval draws the held-out batches once, from the source's start.
func (t *trainer) drawEval() error {
	if t.opts.Eval == nil || t.cfg.EvalEvery <= 0 {
		return nil
	}
	for range t.cfg.EvalBatches {
		tok, tgt := make([]int, t.B*t.T), make([]int, t.B*t.T)
		if err := t.opts.Eval.Next(tok, tgt, t.B, t.T); err != nil {
			return fmt.Errorf("train: held-out batch: %w", err)
		}
		t.evalTok, t.evalTgt = append(t.evalTok, tok), append(t.evalTgt, tgt)
	}
	return nil
}

// evaluate returns the mean held-out loss at step (nil without held-out
// batches).
func (t *trainer) evaluate(step int) (*float64, error) {
	if t.evalTok == nil {
		return nil, nil
	}
	sum := 0.0
	for i := range t.evalTok {
		p, err := t.m.Forward(t.evalTok[i], t.B, t.T, t.evalTgt[i], nil)
		if err != nil {
			return nil, fmt.Errorf("train: held-out loss at step %d: %w", step, err)
		}
		sum += float64(p.Loss)
		p.Release()
	}
	l := sum / float64(len(t.evalTok))
	if !finite(l) {
		return nil, &NonFiniteError{Step: step, What: "held-out loss", Value: l, LastCheckpoint: t.lastGood}
	}
	t.res.EvalLoss = l
	return &l, nil
}

// evalStart logs the held-out loss of the initialization (step 0).
func (t *trainer) evalStart() error {
	ev, err := t.evaluate(0)
	if err != nil || ev == nil {
		return err
	}
	return t.emit(&Metrics{Step: 0, EvalLoss: ev, LR: 0})
}

// save writes a checkpoint of the current step.
func (t *trainer) save() error {
	t.st.ElapsedSeconds = t.elapsed0 + time.Since(t.runStart).Seconds()
	if !allFinite(t.m.Params.Data) {
		return &NonFiniteError{Step: t.st.Step, What: "parameters", Value: math.NaN(), LastCheckpoint: t.lastGood}
	}
	ds, err := t.opts.Train.State()
	if err != nil {
		return fmt.Errorf("train: data source state at step %d: %w", t.st.Step, err)
	}
	t.st.DataState = ds
	dir, err := saveCheckpoint(t.opts.Dir, t.m, t.opt, t.st, t.opts.CheckpointFiles)
	if err != nil {
		return err
	}
	t.lastGood = dir
	t.res.Checkpoints = append(t.res.Checkpoints, dir)
	return nil
}

// emit writes a metrics line and passes it to OnStep.
func (t *trainer) emit(line *Metrics) error {
	if err := t.log.write(line); err != nil {
		return err
	}
	if t.opts.OnStep != nil {
		t.opts.OnStep(*line)
	}
	return nil
}

// stepper holds the buffers every training step reuses.
type stepper struct {
	tokens, targets []int
	grads           *models.Params
	fwd             *models.Options
}

// loop trains until the last step or until ctx is cancelled, then saves
// the step reached if it is not saved yet.
func (t *trainer) loop(ctx context.Context) error {
	sp := &stepper{tokens: make([]int, t.B*t.T), targets: make([]int, t.B*t.T),
		grads: t.m.Params.ZerosLike(), fwd: &models.Options{Hook: t.opts.Hook}}
	bar := newProgress(t.opts.Progress, t.st.Step, t.cfg.Steps)
	defer bar.done()
	startStep := t.st.Step
	savedAt := -1
	if t.resumed {
		savedAt = t.st.Step
	} else if t.isCheckpoint[0] {
		if err := t.save(); err != nil {
			return err
		}
		savedAt = 0
	}
	for t.st.Step < t.cfg.Steps {
		if ctx.Err() != nil {
			t.res.Interrupted = true
			break
		}
		step := t.st.Step + 1
		loss, norm, err := t.step(sp, step)
		if err != nil {
			return err
		}
		line := Metrics{Step: step, Tokens: t.st.Tokens, Loss: &loss, LR: t.st.LR, GradNorm: &norm}
		if t.cfg.EvalEvery > 0 && (step%t.cfg.EvalEvery == 0 || step == t.cfg.Steps) {
			if line.EvalLoss, err = t.evaluate(step); err != nil {
				return err
			}
		}
		since := time.Since(t.runStart).Seconds()
		line.Time = t.elapsed0 + since
		line.TokensPerSecond = float64(int64(step-startStep)*int64(t.B*t.T)) / max(since, 1e-9)
		if err := t.emit(&line); err != nil {
			return err
		}
		if t.isCheckpoint[step] {
			if err := t.save(); err != nil {
				return err
			}
			savedAt = step
		}
		bar.update(step, float32(loss), line.TokensPerSecond, step == t.cfg.Steps)
	}
	if !t.res.Interrupted {
		return nil
	}
	if savedAt != t.st.Step {
		if err := t.save(); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w at step %d (checkpoint %s): %w", ErrInterrupted, t.st.Step, t.lastGood, ctx.Err())
}

// step makes update number step: a batch, the forward and backward passes,
// clipping and the AdamW update, each checked for non-finite values before
// the state advances. It returns the loss and the gradient norm.
func (t *trainer) step(sp *stepper, step int) (loss, norm float64, err error) {
	if err := t.opts.Train.Next(sp.tokens, sp.targets, t.B, t.T); err != nil {
		return 0, 0, fmt.Errorf("train: batch for step %d: %w", step, err)
	}
	pass, err := t.m.Forward(sp.tokens, t.B, t.T, sp.targets, sp.fwd)
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", step, err)
	}
	loss = float64(pass.Loss)
	if !finite(loss) {
		return 0, 0, &NonFiniteError{Step: step, What: "loss", Value: loss, LastCheckpoint: t.lastGood}
	}
	clear(sp.grads.Data)
	if err := t.m.Backward(pass, sp.grads, nil); err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", step, err)
	}
	pass.Release() // its buffers serve the next step's Forward
	norm = ClipGlobalNorm(sp.grads.Data, t.cfg.GradClip)
	if !finite(norm) {
		return 0, 0, &NonFiniteError{Step: step, What: "gradient norm", Value: norm, LastCheckpoint: t.lastGood}
	}
	lr := LR(step-1, t.cfg.Steps, t.cfg.Warmup, t.cfg.LR, t.cfg.MinLR)
	if err := t.opt.Step(t.m.Params.Data, sp.grads.Data, lr); err != nil {
		return 0, 0, err
	}
	if !allFinite(t.m.Params.Data) {
		return 0, 0, &NonFiniteError{Step: step, What: "parameters", Value: math.NaN(), LastCheckpoint: t.lastGood}
	}
	t.st.Step, t.st.LR = step, lr
	t.st.Tokens += int64(t.B * t.T)
	t.res.Loss = loss
	return loss, norm, nil
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
