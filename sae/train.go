package sae

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
)

// ErrNaN reports a training run whose loss stopped being finite.
var ErrNaN = errors.New("loss is not finite")

// The purposes of the random streams derived from Config.Seed.
const (
	purposeInit    = "sae/init"
	purposeBatches = "sae/batches"
)

// Result is a trained SAE with its training curves and metrics: everything
// a chart of one SAE shows.
type Result struct {
	Config Config `json:"config"`
	// LossSteps, Loss, MSE: training curves (batch means); Loss includes
	// the weighted penalty.
	LossSteps []int     `json:"loss_steps"`
	Loss      []float64 `json:"loss"`
	MSE       []float64 `json:"mse"`
	// L0 is the mean number of active features per row (evaluation rows).
	L0 float64 `json:"l0"`
	// FVE is the fraction of variance explained,
	// 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2.
	FVE float64 `json:"fve"`
	// FinalMSE is mean ||x - x_hat||^2 on the evaluation rows.
	FinalMSE float64 `json:"final_mse"`
	// Dead counts features that fired on none of the last DeadWindow
	// training samples (SAELens's dead_feature_window, counted in samples).
	Dead int `json:"dead"`
	// Density[f] is the fraction of the same last DeadWindow training
	// samples on which feature f fired; Histogram bins log10 of it, so its
	// Never count is Dead.
	Density   []float64 `json:"density"`
	Histogram Histogram `json:"histogram"`
	// MMCS against the true directions, when they were given (else 0), and
	// per true feature the best cosine.
	MMCS    float64   `json:"mmcs"`
	BestCos []float64 `json:"best_cos,omitempty"`
	Model   *SAE      `json:"model"`
}

// matrix is a row-major [n, d] activation matrix read one float64 row at a
// time, whatever its element type.
type matrix[T float32 | float64] struct {
	data []T
	n, d int
}

func (m matrix[T]) row(i int, dst []float64) {
	src := m.data[i*m.d : i*m.d+m.d]
	for j := range dst {
		dst[j] = float64(src[j])
	}
}

// fitter is a trainer of either element type.
type fitter interface {
	init(r interface{ NormFloat64() float64 }, mean []float64)
	fit(ctx context.Context, next func(row []float64) error, cfg Config, res *Result, progress io.Writer) error
	evaluate(row func(i int, dst []float64), mean []float64, rows int, res *Result)
	model() *SAE
	setEncoderBias(v float64)
}

// newTrainer returns the trainer of an SAE of cfg (defaults filled in,
// valid) on width d: float32 products through tensor.Gemm from d·F =
// batchedMinParams up, float64 ones below (the toy models' SAEs).
func newTrainer(d int, cfg Config) fitter {
	if d*cfg.DictSize >= batchedMinParams {
		return newTrainerOf[float32](d, cfg, tensor.Gemm)
	}
	return newTrainerOf[float64](d, cfg, gemm64)
}

// batchedMinParams is the size d·F from which an SAE trains in float32.
const batchedMinParams = 1 << 16

// Train trains a sparse autoencoder on the rows of data, a row-major [N, d]
// activation matrix (toy-model hidden states, or any transformer hook
// activation), with Adam: cfg.Steps batches of cfg.Batch rows drawn
// uniformly with replacement. The decoder starts as random unit rows, the
// encoder as its transpose, b_e = 0 and b_d = the data mean. The first
// cfg.EvalRows rows give the final metrics. truth, if non-nil, holds known
// feature directions (length d) for MMCS.
func Train[T float32 | float64](ctx context.Context, data []T, d int, cfg Config, truth [][]float64) (*Result, error) {
	if d <= 0 || len(data) == 0 || len(data)%d != 0 {
		return nil, fmt.Errorf("sae: data of %d values is not a non-empty [N,%d] matrix", len(data), d)
	}
	cfg.defaults(d)
	if err := cfg.validateFor(d); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	for g, t := range truth {
		if len(t) != d {
			return nil, fmt.Errorf("sae: true direction %d has length %d, want %d", g, len(t), d)
		}
	}
	x := matrix[T]{data: data, n: len(data) / d, d: d}
	s := newTrainer(d, cfg)
	mean := x.mean()
	ri := seed.New(seed.Derive(cfg.Seed, 0, purposeInit))
	s.init(&ri, mean)
	res := &Result{Config: cfg}
	r := seed.New(seed.Derive(cfg.Seed, 0, purposeBatches))
	next := func(row []float64) error {
		x.row(r.IntN(x.n), row)
		return nil
	}
	if err := s.fit(ctx, next, cfg, res, nil); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	s.evaluate(x.row, mean, min(x.n, cfg.EvalRows), res)
	res.Model = s.model()
	if truth != nil {
		res.MMCS, res.BestCos = MMCS(truth, res.Model.Wd)
	}
	return res, nil
}

// mean returns the mean row.
func (m matrix[T]) mean() []float64 {
	row := make([]float64, m.d)
	mean := make([]float64, m.d)
	for i := 0; i < m.n; i++ {
		m.row(i, row)
		tensor.Axpy64(1/float64(m.n), row, mean)
	}
	return mean
}

// fit runs cfg.Steps training steps on the rows next gives, filling res's
// curves and, over the last cfg.DeadWindow samples, Density, Histogram and
// Dead; progress, if non-nil, gets a line at every logged step.
func (t *trainer[T]) fit(ctx context.Context, next func(row []float64) error, cfg Config, res *Result, progress io.Writer) error {
	d, F := t.d, t.f
	row := make([]float64, d)
	t.resize(cfg.Batch)
	fires := make([]int, F) // firings in the last cfg.DeadWindow samples
	from := cfg.Steps*cfg.Batch - cfg.DeadWindow
	seen := 0
	var accL, accM float64
	cnt := 0
	auxk := cfg.AuxK > 0 && (cfg.Architecture == TopK || cfg.Architecture == BatchTopK)
	first := 1
	if cfg.CheckpointDir != "" {
		c, ok, err := t.loadCheckpoint(cfg.CheckpointDir, cfg)
		if err != nil {
			return err
		}
		if ok {
			for i := 0; i < c.Seen; i++ { // replay the rows the run consumed
				if err := next(row); err != nil {
					return err
				}
			}
			first, seen, fires, accL, accM, cnt = c.Step+1, c.Seen, c.Fires, c.AccL, c.AccM, c.Cnt
			res.LossSteps, res.Loss, res.MSE = c.LossSteps, c.Loss, c.MSE
		}
	}
	for step := first; step <= cfg.Steps; step++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for b := 0; b < cfg.Batch; b++ {
			if err := next(row); err != nil {
				return err
			}
			for j, v := range row {
				t.x[b*d+j] = T(v)
			}
		}
		sse, pen, _ := t.forward(false)
		lambda := cfg.l1At(step)
		t.backward(lambda)
		if auxk {
			t.aux.track(t)
		}
		if b0 := max(from-seen, 0); b0 < cfg.Batch {
			t.countFires(fires, b0)
		}
		seen += cfg.Batch
		t.step(cfg.lrAt(step))
		sse /= float64(cfg.Batch)
		pen *= lambda / float64(cfg.Batch)
		if math.IsNaN(sse) || math.IsInf(sse, 0) {
			return fmt.Errorf("step %d: %w", step, ErrNaN)
		}
		accL += sse + pen + t.aux.loss
		accM += sse
		cnt++
		if step%cfg.LogEvery == 0 || step == cfg.Steps {
			res.LossSteps = append(res.LossSteps, step)
			res.Loss = append(res.Loss, accL/float64(cnt))
			res.MSE = append(res.MSE, accM/float64(cnt))
			if progress != nil {
				fmt.Fprintf(progress, "\rsae: step %d/%d  loss %.4g  mse %.4g  lr %.3g ", step, cfg.Steps, accL/float64(cnt), accM/float64(cnt), cfg.lrAt(step))
				if step == cfg.Steps {
					fmt.Fprintln(progress)
				}
			}
			accL, accM, cnt = 0, 0, 0
		}
		if cfg.CheckpointDir != "" && step%cfg.CheckpointEvery == 0 && step < cfg.Steps {
			c := &checkpoint{Config: cfg, Step: step, Seen: seen, Fires: fires, AccL: accL, AccM: accM, Cnt: cnt,
				LossSteps: res.LossSteps, Loss: res.Loss, MSE: res.MSE}
			if err := t.saveCheckpoint(cfg.CheckpointDir, c); err != nil {
				return fmt.Errorf("checkpoint at step %d: %w", step, err)
			}
		}
	}
	res.Density = make([]float64, F)
	for k, c := range fires {
		res.Density[k] = float64(c) / float64(cfg.DeadWindow)
		if c == 0 {
			res.Dead++
		}
	}
	res.Histogram = DensityHistogram(res.Density, 20, -6)
	return nil
}

// evaluate runs rows rows (row(i, dst) reads row i) through the SAE in its
// inference form and sets res's L0, FinalMSE and FVE (against the
// predictor mean). Feature densities come from training's dead window
// (fit), so the histogram's Never is the Dead count.
func (t *trainer[T]) evaluate(row func(i int, dst []float64), mean []float64, rows int, res *Result) {
	d := t.d
	buf := make([]float64, d)
	var sse, sst float64
	var l0 int
	const chunk = 1024
	for lo := 0; lo < rows; lo += chunk {
		n := min(chunk, rows-lo)
		t.resize(n)
		for i := 0; i < n; i++ {
			row(lo+i, buf)
			for j, v := range buf {
				t.x[i*d+j] = T(v)
				dv := v - mean[j]
				sst += dv * dv
			}
		}
		e, _, a := t.forward(true)
		sse += e
		l0 += a
	}
	res.L0 = float64(l0) / float64(rows)
	res.FinalMSE = sse / float64(rows)
	if sst > 0 {
		res.FVE = 1 - sse/sst
	}
}

// TrainStore trains a sparse autoencoder on the rows an activation store
// serves (scaled by its factor), with progress lines on progress (nil:
// none). b_d starts at the mean of the store's first buffer. The metrics
// are measured on cfg.EvalRows further rows. The returned SAE acts on the
// hook's raw activations: the store's scale is folded into its weights
// ([SAE.FoldScale]), as SAELens folds its normalisation before saving.
func TrainStore(ctx context.Context, st *Store, cfg Config, progress io.Writer) (*Result, error) {
	d := st.D()
	cfg.defaults(d)
	if err := cfg.validateFor(d); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	s := newTrainer(d, cfg)
	mean := make([]float64, d)
	rows := st.cfg.Buffer
	for i := 0; i < rows; i++ {
		for j, v := range st.buf[i*d : (i+1)*d] {
			mean[j] += float64(v) * st.scale / float64(rows)
		}
	}
	ri := seed.New(seed.Derive(cfg.Seed, 0, purposeInit))
	s.init(&ri, mean)
	res := &Result{Config: cfg}
	next := func(row []float64) error { return st.Next(ctx, row) }
	if err := s.fit(ctx, next, cfg, res, progress); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	eval := make([]float64, cfg.EvalRows*d)
	for i := 0; i < cfg.EvalRows; i++ {
		if err := st.Next(ctx, eval[i*d:(i+1)*d]); err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
	}
	x := matrix[float64]{data: eval, n: cfg.EvalRows, d: d}
	s.evaluate(x.row, x.mean(), x.n, res)
	res.Model = s.model()
	res.Model.FoldScale(st.scale)
	return res, nil
}

// Timing is what [TimeSteps] measured.
type Timing struct {
	// SecondsPerStep is the mean wall time of one timed step.
	SecondsPerStep float64
	// L0 is the mean number of active latents per row over the timed steps.
	L0 float64
}

// TimeSteps measures training speed: on the rows of data [N, d] it builds
// an SAE of cfg with every b_e entry starting at encBias (0 is a fresh
// SAE; a negative start gives a ReLU SAE the sparse code of one that L1
// training has made sparse), takes 3 warm-up steps, then times cfg.Steps
// steps (`mechinterp bench sae`).
func TimeSteps[T float32 | float64](ctx context.Context, data []T, d int, cfg Config, encBias float64) (Timing, error) {
	if d <= 0 || len(data) == 0 || len(data)%d != 0 {
		return Timing{}, fmt.Errorf("sae: data of %d values is not a non-empty [N,%d] matrix", len(data), d)
	}
	cfg.defaults(d)
	if err := cfg.validateFor(d); err != nil {
		return Timing{}, fmt.Errorf("sae: %w", err)
	}
	x := matrix[T]{data: data, n: len(data) / d, d: d}
	s := newTrainer(d, cfg)
	ri := seed.New(seed.Derive(cfg.Seed, 0, purposeInit))
	s.init(&ri, x.mean())
	s.setEncoderBias(encBias)
	i := 0
	next := func(row []float64) error {
		x.row(i%x.n, row)
		i++
		return nil
	}
	warm := cfg
	warm.Steps, warm.DeadWindow, warm.LogEvery = 3, 1, 3
	if err := s.fit(ctx, next, warm, &Result{}, nil); err != nil {
		return Timing{}, err
	}
	cfg.DeadWindow = cfg.Steps * cfg.Batch
	res := &Result{}
	start := time.Now()
	if err := s.fit(ctx, next, cfg, res, nil); err != nil {
		return Timing{}, err
	}
	tm := Timing{SecondsPerStep: time.Since(start).Seconds() / float64(cfg.Steps)}
	for _, p := range res.Density { // the fraction of timed rows each latent fired on
		tm.L0 += p
	}
	return tm, nil
}
