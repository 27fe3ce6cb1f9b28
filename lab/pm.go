package lab

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// HeadFile is the reward head's file inside a preference model's
// checkpoint directory, beside models.ConfigFile and models.WeightsFile.
// Its tensors are named as Hugging Face's GPT2ForSequenceClassification
// names its score layer.
const HeadFile = "reward_head.safetensors"

// Head tensor names in HeadFile.
const (
	headWeight = "score.weight" // [1, d_model]
	headBias   = "score.bias"   // [1]
)

// PrefModel is a preference model: a transformer with a scalar reward head
// reading the final residual stream (after the final LayerNorm, as the
// unembedding does) at each sequence's last token:
//
//	r(x) = w · final(x)[last] + b
//
// Forward passes still fire every hook point.
type PrefModel struct {
	Model *models.Model
	// Head is w [d_model] followed by the bias b.
	Head []float32
}

// NewPrefModel puts a fresh reward head on m (initialised, for instance,
// from a language-model checkpoint): w ~ N(0, 1/d_model) drawn from s, b = 0.
func NewPrefModel(m *models.Model, s uint64) *PrefModel {
	C := m.Config.DModel
	r := seed.New(seed.Derive(s, 0, "lab/head"))
	h := make([]float32, C+1)
	for i := 0; i < C; i++ {
		h[i] = float32(r.NormFloat64() / math.Sqrt(float64(C)))
	}
	return &PrefModel{Model: m, Head: h}
}

// Save writes the model's checkpoint and the reward head into dir.
func (pm *PrefModel) Save(dir string) error {
	C := pm.Model.Config.DModel
	w := tensor.View(append([]float32(nil), pm.Head[:C]...), 1, C)
	b := tensor.View([]float32{pm.Head[C]}, 1)
	return models.SaveParams(dir, pm.Model.Config, pm.Model.Params, func(tmp string) error {
		return safetensors.Write(filepath.Join(tmp, HeadFile), map[string]*tensor.Tensor{headWeight: w, headBias: b}, nil)
	})
}

// LoadPrefModel reads a preference model written by Save.
func LoadPrefModel(dir string) (*PrefModel, error) {
	m, err := models.Load(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, HeadFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("lab: %s is a model checkpoint without a reward head (%s): %w", dir, HeadFile, err)
	}
	ts, _, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	C := m.Config.DModel
	w, b := ts[headWeight], ts[headBias]
	if w == nil || b == nil || len(w.Data) != C || len(b.Data) != 1 {
		return nil, fmt.Errorf("lab: %s: want %s [1,%d] and %s [1]", path, headWeight, C, headBias)
	}
	return &PrefModel{Model: m, Head: append(append([]float32(nil), w.Data...), b.Data[0])}, nil
}

// batch lays sequences of different lengths out as one [B,T] batch, padded
// on the right with token 0: causal attention keeps padding from reaching
// any real position, so each sequence's last real position reads exactly
// what it would alone.
type batch struct {
	tokens  []int
	B, T    int
	last    []int // [B] index of each sequence's last token
	targets []int // [B,T] next tokens, −1 at the last token and padding
}

func newBatch(seqs [][]int, nctx int, targets bool) (batch, error) {
	if len(seqs) == 0 {
		return batch{}, errors.New("lab: empty batch")
	}
	T := 0
	for i, s := range seqs {
		if len(s) == 0 {
			return batch{}, fmt.Errorf("lab: sequence %d is empty", i)
		}
		if len(s) > nctx {
			return batch{}, fmt.Errorf("lab: a sequence of %d tokens exceeds the model's context n_ctx=%d", len(s), nctx)
		}
		T = max(T, len(s))
	}
	b := batch{tokens: make([]int, len(seqs)*T), B: len(seqs), T: T, last: make([]int, len(seqs))}
	if targets {
		b.targets = make([]int, len(seqs)*T)
	}
	for i, s := range seqs {
		copy(b.tokens[i*T:], s)
		b.last[i] = len(s) - 1
		if targets {
			row := b.targets[i*T : (i+1)*T]
			for j := range row {
				row[j] = -1
				if j+1 < len(s) {
					row[j] = s[j+1]
				}
			}
		}
	}
	return b, nil
}

// rewards reads r = w·final[last] + b for each sequence of a pass.
func (pm *PrefModel) rewards(p *models.Pass, b batch) []float64 {
	f := p.Final().Data
	C := pm.Model.Config.DModel
	w, bias := pm.Head[:C], float64(pm.Head[C])
	out := make([]float64, b.B)
	for i := range out {
		row := f[(i*b.T+b.last[i])*C:][:C]
		s := bias
		for j, v := range row {
			s += float64(w[j] * v)
		}
		out[i] = s
	}
	return out
}

// Rewards scores sequences with the reward head, chunk at a time; opt's
// hooks fire as in any forward pass.
func (pm *PrefModel) Rewards(seqs [][]int, chunk int, opt *models.Options) ([]float64, error) {
	return pm.score(seqs, chunk, opt, false)
}

// LogLikelihoods is the imitation-learning score of each sequence: the sum
// of log p(x_t | x_<t) over its tokens after the first (Askell et al. 2021).
func (pm *PrefModel) LogLikelihoods(seqs [][]int, chunk int) ([]float64, error) {
	return pm.score(seqs, chunk, nil, true)
}

func (pm *PrefModel) score(seqs [][]int, chunk int, opt *models.Options, ll bool) ([]float64, error) {
	if chunk <= 0 {
		chunk = 64
	}
	o := models.Options{NoGrad: true}
	if opt != nil {
		o = *opt
		o.NoGrad = true
	}
	out := make([]float64, 0, len(seqs))
	for lo := 0; lo < len(seqs); lo += chunk {
		b, err := newBatch(seqs[lo:min(lo+chunk, len(seqs))], pm.Model.Config.NCtx, ll)
		if err != nil {
			return nil, err
		}
		p, err := pm.Model.Forward(b.tokens, b.B, b.T, b.targets, &o)
		if err != nil {
			return nil, err
		}
		if ll {
			for i := 0; i < b.B; i++ {
				s := 0.0
				for _, v := range p.Losses.Data[i*b.T : (i+1)*b.T] {
					s -= float64(v)
				}
				out = append(out, s)
			}
		} else {
			out = append(out, pm.rewards(p, b)...)
		}
		p.Release()
	}
	return out, nil
}

// Objective names a training objective of Askell et al. 2021, section 4.
type Objective string

// The objectives.
const (
	// Preference is ranked preference modelling: the Bradley-Terry loss
	// log(1 + exp(r_rejected − r_chosen)).
	Preference Objective = "preference"
	// Binary is binary discrimination: each sample classified on its own,
	// chosen as good and rejected as bad, by the logistic loss on r.
	Binary Objective = "binary"
	// Imitation is language modelling on the chosen samples; the score of a
	// sample is its log-likelihood.
	Imitation Objective = "imitation"
)

// Objectives lists the objectives in the order pages show them.
var Objectives = []Objective{Preference, Binary, Imitation}

// ParseObjective checks an objective's name.
func ParseObjective(s string) (Objective, error) {
	for _, o := range Objectives {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("lab: unknown objective %q (want preference, binary or imitation)", s)
}

// Grads holds the gradient of a training loss: the model's parameters and
// the reward head's.
type Grads struct {
	Model *models.Params
	Head  []float32
}

// NewGrads returns zero gradients shaped like pm.
func (pm *PrefModel) NewGrads() *Grads {
	return &Grads{Model: pm.Model.Params.ZerosLike(), Head: make([]float32, len(pm.Head))}
}

// Zero clears g.
func (g *Grads) Zero() {
	clear(g.Model.Data)
	clear(g.Head)
}

// LossAndGrad computes the objective's mean loss on a batch of comparisons
// and adds its gradient into g (nil for the loss alone). The preference and
// binary losses differentiate the reward head and, through
// BackwardOptions.DFinal, the transformer; imitation is the mean next-token
// cross-entropy of the chosen samples.
func (pm *PrefModel) LossAndGrad(obj Objective, cs []Comparison, g *Grads) (float64, error) {
	if len(cs) == 0 {
		return 0, errors.New("lab: no comparisons in the batch")
	}
	if obj == Imitation {
		seqs := make([][]int, len(cs))
		for i, c := range cs {
			seqs[i] = c.Chosen
		}
		b, err := newBatch(seqs, pm.Model.Config.NCtx, true)
		if err != nil {
			return 0, err
		}
		p, err := pm.Model.Forward(b.tokens, b.B, b.T, b.targets, &models.Options{NoGrad: g == nil})
		if err != nil {
			return 0, err
		}
		defer p.Release()
		if g != nil {
			if err := pm.Model.Backward(p, g.Model, nil); err != nil {
				return 0, err
			}
		}
		return float64(p.Loss), nil
	}
	P := len(cs)
	seqs := make([][]int, 2*P) // chosen 0..P−1, rejected P..2P−1
	for i, c := range cs {
		seqs[i], seqs[P+i] = c.Chosen, c.Rejected
	}
	b, err := newBatch(seqs, pm.Model.Config.NCtx, false)
	if err != nil {
		return 0, err
	}
	p, err := pm.Model.Forward(b.tokens, b.B, b.T, nil, &models.Options{NoGrad: g == nil})
	if err != nil {
		return 0, err
	}
	defer p.Release()
	r := pm.rewards(p, b)
	dr := make([]float64, 2*P) // ∂loss/∂r
	loss := 0.0
	switch obj {
	case Preference:
		for i := 0; i < P; i++ {
			d := r[P+i] - r[i] // r_rejected − r_chosen
			loss += softplus(d)
			s := sigmoid(d) / float64(P)
			dr[i], dr[P+i] = -s, s
		}
		loss /= float64(P)
	case Binary:
		for i := range r {
			y := 1.0 // chosen: good
			if i >= P {
				y = -1
			}
			loss += softplus(-y * r[i])
			dr[i] = -y * sigmoid(-y*r[i]) / float64(2*P)
		}
		loss /= float64(2 * P)
	default:
		return 0, fmt.Errorf("lab: unknown objective %q", obj)
	}
	if g == nil {
		return loss, nil
	}
	C := pm.Model.Config.DModel
	w := pm.Head[:C]
	f := p.Final().Data
	dfinal := make([]float32, b.B*b.T*C) // [B,T,C], nonzero at each last token
	for i, d := range dr {
		at := (i*b.T + b.last[i]) * C
		for j := 0; j < C; j++ {
			dfinal[at+j] = float32(d) * w[j]
			g.Head[j] += float32(d) * f[at+j]
		}
		g.Head[C] += float32(d)
	}
	if err := pm.Model.Backward(p, g.Model, &models.BackwardOptions{DFinal: tensor.View(dfinal, b.B, b.T, C)}); err != nil {
		return 0, err
	}
	return loss, nil
}
