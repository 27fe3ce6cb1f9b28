package superposition

import (
	"context"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// SAEConfig configures a sparse autoencoder (Bricken et al. 2023, Towards
// Monosemanticity; Sharkey et al. 2022). Zero fields take defaults.
type SAEConfig struct {
	// DictSize is the number of dictionary features F (default 4*d).
	DictSize int `json:"dict_size" mapstructure:"dict_size"`
	// L1 is lambda, the sparsity penalty coefficient (default 1e-3).
	L1    float64 `json:"l1" mapstructure:"l1"`
	Steps int     `json:"steps" mapstructure:"steps"` // default 5000
	Batch int     `json:"batch" mapstructure:"batch"` // default 256
	LR    float64 `json:"lr" mapstructure:"lr"`       // Adam, default 1e-3
	Seed  uint64  `json:"seed" mapstructure:"seed"`
	// DeadWindow is the number of final training samples over which a
	// feature that never fires counts as dead (default 10 batches' worth,
	// capped at Steps*Batch).
	DeadWindow int `json:"dead_window" mapstructure:"dead_window"`
	// EvalRows caps the rows used for the final metrics (default 8192).
	EvalRows int `json:"eval_rows" mapstructure:"eval_rows"`
	// LogEvery is the loss-curve spacing (default Steps/100).
	LogEvery int `json:"log_every" mapstructure:"log_every"`
}

func (c *SAEConfig) defaults(d int) {
	if c.DictSize == 0 {
		c.DictSize = 4 * d
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

// SAE is a trained sparse autoencoder on d-dimensional activations with F
// features: x_bar = x - b_d, f = ReLU(W_e x_bar + b_e), x_hat = W_d f + b_d
// (Bricken et al. 2023, "Problem Setup"). Decoder columns have unit norm.
type SAE struct {
	D, F int
	// We[f] is encoder row f (length D); Wd[f] is decoder column f, the
	// dictionary atom of feature f (length D, unit norm).
	We [][]float64 `json:"W_enc"`
	Be []float64   `json:"b_enc"`
	Wd [][]float64 `json:"W_dec"`
	Bd []float64   `json:"b_dec"`
}

// Encode returns the feature activations f of x.
func (s *SAE) Encode(x []float64) []float64 {
	f := make([]float64, s.F)
	xb := make([]float64, s.D)
	for j := range xb {
		xb[j] = x[j] - s.Bd[j]
	}
	for k := range f {
		f[k] = max(0, tensor.Dot64(s.We[k], xb)+s.Be[k])
	}
	return f
}

// Decode returns x_hat = W_d f + b_d.
func (s *SAE) Decode(f []float64) []float64 {
	x := append([]float64(nil), s.Bd...)
	for k, v := range f {
		if v != 0 {
			tensor.Axpy64(v, s.Wd[k], x)
		}
	}
	return x
}

// SAEHistogram is a histogram of log10 feature firing frequency.
type SAEHistogram struct {
	// Edges has len(Counts)+1 bin edges in log10(frequency).
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
	// Never counts features that fired on no evaluation row (log10 = -Inf).
	Never int `json:"never"`
}

// SAEResult is everything a chart of one SAE shows.
type SAEResult struct {
	Config SAEConfig `json:"config"`
	// LossSteps, Loss, MSE, L1Loss: training curves (batch means).
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
	// Dead counts features that did not fire over the last DeadWindow
	// training samples.
	Dead int `json:"dead"`
	// Density[f] is the fraction of evaluation rows on which feature f
	// fires; Histogram bins log10 of it.
	Density   []float64    `json:"density"`
	Histogram SAEHistogram `json:"histogram"`
	// MMCS against the true directions, when they were given (else 0), and
	// per true feature the best cosine.
	MMCS    float64   `json:"mmcs"`
	BestCos []float64 `json:"best_cos,omitempty"`
	Model   *SAE      `json:"model"`
}

// MMCS is the mean max cosine similarity between true feature directions and
// dictionary atoms, mean over g of max over d of cos(g, d) (Sharkey et al.
// 2022): 1 when every true feature has an exactly aligned atom. It also
// returns each true feature's best cosine.
func MMCS(truth, atoms [][]float64) (float64, []float64) {
	best := make([]float64, len(truth))
	if len(truth) == 0 {
		return 0, best
	}
	var sum float64
	for g, t := range truth {
		tn := math.Sqrt(tensor.Dot64(t, t))
		b := math.Inf(-1)
		for _, a := range atoms {
			an := math.Sqrt(tensor.Dot64(a, a))
			if tn == 0 || an == 0 {
				continue
			}
			b = math.Max(b, tensor.Dot64(t, a)/(tn*an))
		}
		if math.IsInf(b, -1) {
			b = 0
		}
		best[g] = b
		sum += b
	}
	return sum / float64(len(truth)), best
}

// saeGrad holds flat parameters: We [F*D], Be [F], Wd [F*D] (atom-major), Bd [D].
type saeState struct {
	d, f                  int
	we, be, wd, bd        int
	p, g, m, v            []float64
	xb, pre, act, r, dpre []float64
}

func newSAEState(d, f int) *saeState {
	s := &saeState{d: d, f: f}
	s.we, s.be, s.wd, s.bd = 0, f*d, f*d+f, 2*f*d+f
	size := 2*f*d + f + d
	s.p, s.g, s.m, s.v = make([]float64, size), make([]float64, size), make([]float64, size), make([]float64, size)
	s.xb, s.r = make([]float64, d), make([]float64, d)
	s.pre, s.act, s.dpre = make([]float64, f), make([]float64, f), make([]float64, f)
	return s
}

// accumulate adds scale * gradient of one row's loss ||x - x_hat||^2 +
// l1*||f||_1 into s.g and returns (mse, l1 term, active count).
func (s *saeState) accumulate(x []float64, l1, scale float64) (float64, float64, int) {
	d, F := s.d, s.f
	p, g := s.p, s.g
	We, Be, Wd, Bd := p[s.we:s.we+F*d], p[s.be:s.be+F], p[s.wd:s.wd+F*d], p[s.bd:s.bd+d]
	gWe, gBe, gWd, gBd := g[s.we:s.we+F*d], g[s.be:s.be+F], g[s.wd:s.wd+F*d], g[s.bd:s.bd+d]
	xb := s.xb
	for j := range xb {
		xb[j] = x[j] - Bd[j]
	}
	r := s.r
	copy(r, Bd)
	var l1sum float64
	active := 0
	for k := 0; k < F; k++ {
		pr := tensor.Dot64(We[k*d:k*d+d], xb) + Be[k]
		s.pre[k] = pr
		a := max(pr, 0)
		s.act[k] = a
		if a > 0 {
			tensor.Axpy64(a, Wd[k*d:k*d+d], r)
			l1sum += a
			active++
		}
	}
	var mse float64
	for j := range r {
		r[j] -= x[j] // r = x_hat - x
		mse += r[j] * r[j]
	}
	if scale == 0 {
		return mse, l1 * l1sum, active
	}
	// d loss / d x_hat = 2 r
	for j := range r {
		gBd[j] += 2 * scale * r[j]
	}
	for k := 0; k < F; k++ {
		a := s.act[k]
		atom := Wd[k*d : k*d+d]
		if a > 0 {
			tensor.Axpy64(2*scale*a, r, gWd[k*d:k*d+d])
		}
		if s.pre[k] <= 0 {
			continue
		}
		df := 2*scale*tensor.Dot64(atom, r) + scale*l1
		gBe[k] += df
		tensor.Axpy64(df, xb, gWe[k*d:k*d+d])
		tensor.Axpy64(-df, We[k*d:k*d+d], gBd)
	}
	return mse, l1 * l1sum, active
}

// adamStep removes from each decoder column's gradient its component along
// the column, takes an Adam step, then renormalizes the columns (Bricken et
// al. 2023, "Autoencoder" appendix).
func (s *saeState) adamStep(t int, lr float64) {
	d, F := s.d, s.f
	Wd, gWd := s.p[s.wd:s.wd+F*d], s.g[s.wd:s.wd+F*d]
	for k := 0; k < F; k++ {
		atom, ga := Wd[k*d:k*d+d], gWd[k*d:k*d+d]
		tensor.Axpy64(-tensor.Dot64(atom, ga), atom, ga)
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	bc1 := 1 - math.Pow(b1, float64(t))
	bc2 := math.Sqrt(1 - math.Pow(b2, float64(t)))
	for j, gj := range s.g {
		s.m[j] = b1*s.m[j] + (1-b1)*gj
		s.v[j] = b2*s.v[j] + (1-b2)*gj*gj
		s.p[j] -= lr / bc1 * s.m[j] / (math.Sqrt(s.v[j])/bc2 + eps)
	}
	s.normalize()
}

func (s *saeState) normalize() {
	d := s.d
	Wd := s.p[s.wd : s.wd+s.f*d]
	for k := 0; k < s.f; k++ {
		atom := Wd[k*d : k*d+d]
		if n := math.Sqrt(tensor.Dot64(atom, atom)); n > 0 {
			for j := range atom {
				atom[j] /= n
			}
		}
	}
}

func (s *saeState) model() *SAE {
	d, F := s.d, s.f
	m := &SAE{D: d, F: F, We: rows(s.p[s.we:s.we+F*d], F, d), Be: append([]float64(nil), s.p[s.be:s.be+F]...),
		Wd: rows(s.p[s.wd:s.wd+F*d], F, d), Bd: append([]float64(nil), s.p[s.bd:s.bd+d]...)}
	return m
}

// TrainSAE trains a sparse autoencoder on the rows of data, a row-major
// [N, d] activation matrix (toy-model hidden states, or any transformer hook
// activation), with Adam. The decoder is initialized with random unit
// columns, the encoder as its transpose, b_e = 0 and b_d = the data mean.
// truth, if non-nil, holds known feature directions (length d) for MMCS.
func TrainSAE[T float32 | float64](ctx context.Context, data []T, d int, cfg SAEConfig, truth [][]float64) (*SAEResult, error) {
	if d <= 0 || len(data) == 0 || len(data)%d != 0 {
		return nil, fmt.Errorf("sae: data of %d values is not a non-empty [N,%d] matrix", len(data), d)
	}
	cfg.defaults(d)
	if cfg.DictSize <= 0 || cfg.Steps < 0 || cfg.Batch <= 0 || !(cfg.LR > 0) || cfg.L1 < 0 {
		return nil, fmt.Errorf("sae: invalid config %+v", cfg)
	}
	for g, t := range truth {
		if len(t) != d {
			return nil, fmt.Errorf("sae: true direction %d has length %d, want %d", g, len(t), d)
		}
	}
	N := len(data) / d
	row := func(i int, dst []float64) {
		for j := range dst {
			dst[j] = float64(data[i*d+j])
		}
	}
	F := cfg.DictSize
	s := newSAEState(d, F)
	r := newRNG(cfg.Seed)
	Wd := s.p[s.wd : s.wd+F*d]
	for j := range Wd {
		Wd[j] = r.norm()
	}
	s.normalize()
	copy(s.p[s.we:s.we+F*d], Wd)
	x := make([]float64, d)
	mean := make([]float64, d)
	for i := 0; i < N; i++ {
		row(i, x)
		tensor.Axpy64(1/float64(N), x, mean)
	}
	copy(s.p[s.bd:], mean)

	res := &SAEResult{Config: cfg}
	lastFire := make([]int, F) // sample index of last firing, -1 never
	for k := range lastFire {
		lastFire[k] = -1
	}
	seen := 0
	var accL, accM float64
	cnt := 0
	scale := 1 / float64(cfg.Batch)
	for t := 1; t <= cfg.Steps; t++ {
		if t%64 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("sae: %w", ctx.Err())
		}
		clear(s.g)
		var mse, l1 float64
		for b := 0; b < cfg.Batch; b++ {
			row(r.intn(N), x)
			m, l, _ := s.accumulate(x, cfg.L1, scale)
			mse += m
			l1 += l
			for k, a := range s.act {
				if a > 0 {
					lastFire[k] = seen
				}
			}
			seen++
		}
		s.adamStep(t, cfg.LR)
		mse *= scale
		l1 *= scale
		if math.IsNaN(mse) || math.IsInf(mse, 0) {
			return nil, fmt.Errorf("sae: step %d: %w", t, ErrNaN)
		}
		accL += mse + l1
		accM += mse
		cnt++
		if t%cfg.LogEvery == 0 || t == cfg.Steps {
			res.LossSteps = append(res.LossSteps, t)
			res.Loss = append(res.Loss, accL/float64(cnt))
			res.MSE = append(res.MSE, accM/float64(cnt))
			accL, accM, cnt = 0, 0, 0
		}
	}
	for _, lf := range lastFire {
		if lf < seen-cfg.DeadWindow {
			res.Dead++
		}
	}
	// evaluation
	E := min(N, cfg.EvalRows)
	fires := make([]int, F)
	var sse, sst float64
	var l0 int
	for i := 0; i < E; i++ {
		row(i, x)
		m, _, a := s.accumulate(x, 0, 0)
		sse += m
		l0 += a
		for k, v := range s.act {
			if v > 0 {
				fires[k]++
			}
		}
		for j := range x {
			dv := x[j] - mean[j]
			sst += dv * dv
		}
	}
	res.L0 = float64(l0) / float64(E)
	res.FinalMSE = sse / float64(E)
	if sst > 0 {
		res.FVE = 1 - sse/sst
	}
	res.Density = make([]float64, F)
	for k, c := range fires {
		res.Density[k] = float64(c) / float64(E)
	}
	res.Histogram = DensityHistogram(res.Density, 20, -6)
	res.Model = s.model()
	if truth != nil {
		res.MMCS, res.BestCos = MMCS(truth, res.Model.Wd)
	}
	return res, nil
}

// DensityHistogram bins log10 of the feature firing frequencies into bins
// equal bins from lo to 0 (Bricken et al. 2023, "feature density"
// histograms); frequencies of 0 are counted in Never, and frequencies below
// 10^lo go in the first bin.
func DensityHistogram(density []float64, bins int, lo float64) SAEHistogram {
	h := SAEHistogram{Edges: make([]float64, bins+1), Counts: make([]int, bins)}
	for j := range h.Edges {
		h.Edges[j] = lo + (0-lo)*float64(j)/float64(bins)
	}
	for _, p := range density {
		if p <= 0 {
			h.Never++
			continue
		}
		b := int((math.Log10(p) - lo) / (0 - lo) * float64(bins))
		h.Counts[min(max(b, 0), bins-1)]++
	}
	return h
}
