package circuits

import (
	"errors"
	"fmt"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
	"github.com/mechinterp/mechinterp/train"
)

// TunedLensFile is the file a tuned lens is saved in, inside its directory.
const TunedLensFile = "tuned_lens.safetensors"

// TunedLens holds one affine translator per lens layer (Belrose et al.
// 2023, "Eliciting Latent Predictions from Transformers with the Tuned
// Lens"): the residual stream h after that layer is read as h + h·A + b
// before the final normalization and the unembedding. A and b start at
// zero (the logit lens) and are trained to bring the lens's next-token
// distribution to the model's final one.
type TunedLens struct {
	DModel, DVocab, Layers int
	// Params holds, layer by layer, A [d_model, d_model] then b [d_model].
	Params []float32
}

// NewTunedLens returns identity translators for a model with this config
// (one per row of LensLayerNames).
func NewTunedLens(c models.Config) *TunedLens {
	c = c.WithDefaults()
	C := c.DModel
	return &TunedLens{DModel: C, DVocab: c.DVocab, Layers: c.NLayers + 1, Params: make([]float32, (c.NLayers+1)*(C*C+C))}
}

func (t *TunedLens) layer(l int) (A, b []float32) {
	C := t.DModel
	off := l * (C*C + C)
	return t.Params[off : off+C*C], t.Params[off+C*C : off+C*C+C]
}

// check reports whether the lens fits a model of config c (a nil lens does).
func (t *TunedLens) check(c models.Config) error {
	if t == nil {
		return nil
	}
	if t.DModel != c.DModel || t.DVocab != c.DVocab || t.Layers != c.NLayers+1 {
		return fmt.Errorf("circuits: the tuned lens is for d_model %d, vocabulary %d, %d layers; the model has %d, %d, %d",
			t.DModel, t.DVocab, t.Layers-1, c.DModel, c.DVocab, c.NLayers)
	}
	return nil
}

// translate returns x + x·A + b for layer l's rows x [N,C].
func (t *TunedLens) translate(l int, x []float32, N int) []float32 {
	C := t.DModel
	A, b := t.layer(l)
	out := append([]float32(nil), x...)
	tensor.Gemm(false, false, N, C, C, 1, x, C, A, C, 1, out, C)
	for n := 0; n < N; n++ {
		row := out[n*C : (n+1)*C]
		for j := range row {
			row[j] += b[j]
		}
	}
	return out
}

// layerLoss returns layer l's mean KL(final || tuned lens) over the rows x
// [N,C] whose final log-probabilities are target, and adds its gradient
// with respect to A and b into grad (laid out as Params).
func (t *TunedLens) layerLoss(u *unembedder, l int, x []float32, target [][]float64, grad []float32) float64 {
	C, V, N := t.DModel, t.DVocab, len(target)
	h := t.translate(l, x, N)
	y, xhat, scale := make([]float32, N*C), make([]float32, N*C), make([]float64, N)
	for n := 0; n < N; n++ {
		scale[n] = u.normRow(y[n*C:(n+1)*C], xhat[n*C:(n+1)*C], h[n*C:(n+1)*C])
	}
	logits := make([]float32, N*V)
	u.project(logits, y, N)
	var loss float64
	dl := logits // reused in place as d loss / d logits = (q - p)/N
	for n := 0; n < N; n++ {
		lp := tensor.LogSoftmax(logits[n*V : (n+1)*V])
		loss += klDiv(target[n], lp) / float64(N)
		for j, q := range lp {
			dl[n*V+j] = float32((math.Exp(q) - math.Exp(target[n][j])) / float64(N))
		}
	}
	if grad == nil {
		return loss
	}
	dy := make([]float32, N*C)
	tensor.Gemm(false, true, N, C, V, 1, dl, V, u.wu, V, 0, dy, C)
	dh := make([]float32, N*C)
	for n := 0; n < N; n++ {
		u.normRowBackward(dh[n*C:(n+1)*C], dy[n*C:(n+1)*C], xhat[n*C:(n+1)*C], scale[n])
	}
	off := l * (C*C + C)
	// h = x + x·A + b: dA = xᵀ·dh, db = Σ_n dh.
	tensor.Gemm(true, false, C, C, N, 1, x, C, dh, C, 1, grad[off:], C)
	db := grad[off+C*C : off+C*C+C]
	for n := 0; n < N; n++ {
		for j, d := range dh[n*C : (n+1)*C] {
			db[j] += d
		}
	}
	return loss
}

// TunedLensOptions configure TrainTunedLens.
type TunedLensOptions struct {
	Steps     int     // default 300
	BatchSize int     // sequences per step, default 8
	LR        float64 // AdamW learning rate, default 1e-3 (Belrose et al. use SGD with Nesterov; AdamW converges as well here)
	Seed      uint64  // the order in which sequences are drawn
	// Progress, if set, gets each step's mean loss over layers.
	Progress func(step int, loss float64)
}

// TrainTunedLens trains a tuned lens for m on the token sequences seqs (all
// of one length), minimizing each layer's mean KL(final || lens) with AdamW,
// no weight decay. It returns the lens and the loss of each step (the
// mean over layers).
func TrainTunedLens(m *models.Model, seqs [][]int, o TunedLensOptions) (*TunedLens, []float64, error) {
	if m == nil {
		return nil, nil, errors.New("circuits: nil model")
	}
	if len(seqs) == 0 {
		return nil, nil, errors.New("circuits: no training sequences for the tuned lens")
	}
	T := len(seqs[0])
	for i, s := range seqs {
		if len(s) != T {
			return nil, nil, fmt.Errorf("circuits: tuned-lens sequence %d has %d tokens, the first %d", i, len(s), T)
		}
		if err := m.CheckTokens(s, 1, T); err != nil {
			return nil, nil, fmt.Errorf("circuits: tuned-lens sequence %d: %w", i, err)
		}
	}
	if o.Steps <= 0 {
		o.Steps = 300
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 8
	}
	if o.LR <= 0 {
		o.LR = 1e-3
	}
	u, err := newUnembedder(m)
	if err != nil {
		return nil, nil, err
	}
	t := NewTunedLens(m.Config)
	opt := train.NewAdamWMasked[float32](len(t.Params), train.Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, nil)
	grad := make([]float32, len(t.Params))
	rng := seed.New(seed.Derive(o.Seed, 0, "tuned lens batches"))
	B := min(o.BatchSize, len(seqs))
	var losses []float64
	for step := 0; step < o.Steps; step++ {
		tokens := make([]int, 0, B*T)
		for range B {
			tokens = append(tokens, seqs[rng.IntN(len(seqs))]...)
		}
		res, final, err := residuals(m, tokens, B, T)
		if err != nil {
			return nil, nil, err
		}
		target := finalLogProbs(final, B*T)
		clear(grad)
		var loss float64
		// The last layer's lens is the model itself: its translator stays
		// the identity (Belrose et al. train none there).
		for l := 0; l < t.Layers-1; l++ {
			loss += t.layerLoss(u, l, res[l], target, grad) / float64(t.Layers-1)
		}
		if err := opt.Step(t.Params, grad, o.LR); err != nil {
			return nil, nil, err
		}
		losses = append(losses, loss)
		if o.Progress != nil {
			o.Progress(step, loss)
		}
	}
	return t, losses, nil
}

func finalLogProbs(logits *tensor.Tensor, N int) [][]float64 {
	V := logits.Shape[len(logits.Shape)-1]
	out := make([][]float64, N)
	for n := range out {
		out[n] = tensor.LogSoftmax(logits.Data[n*V : (n+1)*V])
	}
	return out
}

// LensKL returns, for each lens layer, the mean over every position of the
// sequences of KL(final || logit lens) and, when tuned is given, of
// KL(final || tuned lens): the comparison Belrose et al. report on
// held-out text.
func LensKL(m *models.Model, seqs [][]int, tuned *TunedLens) (logit, tunedKL []float64, err error) {
	if err := tuned.check(m.Config); err != nil {
		return nil, nil, err
	}
	u, err := newUnembedder(m)
	if err != nil {
		return nil, nil, err
	}
	L := m.Config.NLayers + 1
	logit = make([]float64, L)
	if tuned != nil {
		tunedKL = make([]float64, L)
	}
	n := 0
	identity := NewTunedLens(m.Config)
	for _, s := range seqs {
		if err := m.CheckTokens(s, 1, len(s)); err != nil {
			return nil, nil, err
		}
		res, final, err := residuals(m, s, 1, len(s))
		if err != nil {
			return nil, nil, err
		}
		target := finalLogProbs(final, len(s))
		for l := 0; l < L; l++ {
			logit[l] += identity.layerLoss(u, l, res[l], target, nil) * float64(len(s))
			if tuned != nil {
				tunedKL[l] += tuned.layerLoss(u, l, res[l], target, nil) * float64(len(s))
			}
		}
		n += len(s)
	}
	if n == 0 {
		return nil, nil, errors.New("circuits: no held-out sequences")
	}
	for l := range logit {
		logit[l] /= float64(n)
		if tuned != nil {
			tunedKL[l] /= float64(n)
		}
	}
	return logit, tunedKL, nil
}

// Save writes the lens to dir/TunedLensFile (atomically).
func (t *TunedLens) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("circuits: %w", err)
	}
	ts := map[string]*tensor.Tensor{}
	C := t.DModel
	for l := 0; l < t.Layers; l++ {
		A, b := t.layer(l)
		ts[fmt.Sprintf("translator.%d.weight", l)] = tensor.View(append([]float32(nil), A...), C, C)
		ts[fmt.Sprintf("translator.%d.bias", l)] = tensor.View(append([]float32(nil), b...), C)
	}
	meta := map[string]string{"d_model": strconv.Itoa(C), "d_vocab": strconv.Itoa(t.DVocab), "layers": strconv.Itoa(t.Layers)}
	return safetensors.Write(filepath.Join(dir, TunedLensFile), ts, meta)
}

// LoadTunedLens reads a lens that Save wrote to dir.
func LoadTunedLens(dir string) (*TunedLens, error) {
	ts, meta, err := safetensors.Read(filepath.Join(dir, TunedLensFile))
	if err != nil {
		return nil, fmt.Errorf("circuits: tuned lens: %w", err)
	}
	var dims [3]int
	for i, k := range []string{"d_model", "d_vocab", "layers"} {
		if dims[i], err = strconv.Atoi(meta[k]); err != nil || dims[i] <= 0 {
			return nil, fmt.Errorf("circuits: tuned lens in %s: metadata %q is %q", dir, k, meta[k])
		}
	}
	t := &TunedLens{DModel: dims[0], DVocab: dims[1], Layers: dims[2]}
	t.Params = make([]float32, t.Layers*(t.DModel*t.DModel+t.DModel))
	for l := 0; l < t.Layers; l++ {
		A, b := t.layer(l)
		for _, x := range []struct {
			name string
			dst  []float32
		}{{fmt.Sprintf("translator.%d.weight", l), A}, {fmt.Sprintf("translator.%d.bias", l), b}} {
			w, ok := ts[x.name]
			if !ok || w.Len() != len(x.dst) {
				return nil, fmt.Errorf("circuits: tuned lens in %s: %s missing or of the wrong size", dir, x.name)
			}
			copy(x.dst, w.Data)
		}
	}
	return t, nil
}

// LensComparison sets the logit lens beside a tuned lens on held-out
// sequences, layer by layer.
type LensComparison struct {
	Layers  []string      `json:"layers"`
	LogitKL []jsonx.Float `json:"logit_kl"` // mean KL(final || logit lens)
	TunedKL []jsonx.Float `json:"tuned_kl"` // mean KL(final || tuned lens)
	// Losses is the training loss of each step.
	Losses  []jsonx.Float `json:"losses"`
	HeldOut int           `json:"held_out_sequences"`
}

// TuneLens trains a tuned lens on trainSeqs and measures it against the
// logit lens on heldOut.
func TuneLens(m *models.Model, trainSeqs, heldOut [][]int, o TunedLensOptions) (*TunedLens, *LensComparison, error) {
	t, losses, err := TrainTunedLens(m, trainSeqs, o)
	if err != nil {
		return nil, nil, err
	}
	logit, tuned, err := LensKL(m, heldOut, t)
	if err != nil {
		return nil, nil, err
	}
	return t, &LensComparison{Layers: LensLayerNames(m.Config.NLayers), LogitKL: floats(logit), TunedKL: floats(tuned),
		Losses: floats(losses), HeldOut: len(heldOut)}, nil
}
