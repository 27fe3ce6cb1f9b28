package circuits

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// unembedder maps residual-stream vectors to logits as the model's last
// steps do: the final normalization (LayerNorm, RMSNorm or none), then W_U
// and b_U. It keeps what its backward needs.
type unembedder struct {
	norm string
	eps  float64
	C, V int
	w, b []float32 // final norm gain and bias (nil where the model has none)
	wu   []float32 // [C,V]
	bu   []float32 // [V] or nil
}

func newUnembedder(m *models.Model) (*unembedder, error) {
	c := m.Config
	u := &unembedder{norm: c.Normalization, eps: float64(c.LNEps), C: c.DModel, V: c.DVocab}
	get := func(name string) []float32 {
		w, err := m.Weight(name, 0)
		if err != nil {
			return nil // the model has no such weight (b_U, an RMSNorm's bias)
		}
		return w.Data
	}
	if c.HasNorm() {
		if u.w = get("ln_final.w"); u.w == nil {
			return nil, errors.New("circuits: the model has no final normalization gain")
		}
		u.b = get("ln_final.b")
	}
	if u.wu = get("W_U"); u.wu == nil {
		return nil, errors.New("circuits: the model has no unembedding")
	}
	u.bu = get("b_U")
	return u, nil
}

// normRow normalizes x [C] into y [C] and returns xhat and the scale.
func (u *unembedder) normRow(y, xhat, x []float32) float64 {
	switch u.norm {
	case models.NormLN, models.NormRMS:
		var mean float64
		if u.norm == models.NormLN {
			for _, v := range x {
				mean += float64(v)
			}
			mean /= float64(len(x))
		}
		var ss float64
		for _, v := range x {
			d := float64(v) - mean
			ss += d * d
		}
		scale := math.Sqrt(ss/float64(len(x)) + u.eps)
		for i, v := range x {
			xhat[i] = float32((float64(v) - mean) / scale)
			y[i] = xhat[i] * u.w[i]
			if u.b != nil {
				y[i] += u.b[i]
			}
		}
		return scale
	default:
		copy(xhat, x)
		copy(y, x)
		return 1
	}
}

// normRowBackward returns dx [C] given dy [C] for the row normRow saw.
func (u *unembedder) normRowBackward(dx, dy, xhat []float32, scale float64) {
	switch u.norm {
	case models.NormLN, models.NormRMS:
		var mean, meanH float64
		for i, d := range dy {
			g := float64(d * u.w[i])
			mean += g
			meanH += g * float64(xhat[i])
		}
		n := float64(len(dy))
		mean, meanH = mean/n, meanH/n
		if u.norm == models.NormRMS {
			mean = 0
		}
		for i, d := range dy {
			g := float64(d * u.w[i])
			dx[i] = float32((g - mean - float64(xhat[i])*meanH) / scale)
		}
	default:
		copy(dx, dy)
	}
}

// logits fills out [N,V] from residual rows x [N,C].
func (u *unembedder) logits(out, x []float32, N int) {
	y, xhat := make([]float32, N*u.C), make([]float32, u.C)
	for n := 0; n < N; n++ {
		u.normRow(y[n*u.C:(n+1)*u.C], xhat, x[n*u.C:(n+1)*u.C])
	}
	u.project(out, y, N)
}

func (u *unembedder) project(out, y []float32, N int) {
	tensor.Gemm(false, false, N, u.V, u.C, 1, y, u.C, u.wu, u.V, 0, out, u.V)
	if u.bu != nil {
		for n := 0; n < N; n++ {
			row := out[n*u.V : (n+1)*u.V]
			for j := range row {
				row[j] += u.bu[j]
			}
		}
	}
}

// residuals runs tokens [B,T] and returns the residual stream the lens reads
// at each layer: [L+1][B·T·C], blocks.0.hook_resid_pre (the embeddings),
// then every blocks.{l}.hook_resid_post; and the model's logits.
func residuals(m *models.Model, tokens []int, B, T int) ([][]float32, *tensor.Tensor, error) {
	L := m.Config.NLayers
	out := make([][]float32, L+1)
	names := map[string]int{models.ActName("resid_pre", 0): 0}
	for l := 0; l < L; l++ {
		names[models.ActName("resid_post", l)] = l + 1
	}
	p, err := m.Forward(tokens, B, T, nil, &models.Options{NoGrad: true, Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
		if i, ok := names[name]; ok {
			out[i] = append([]float32(nil), a.Data...)
		}
		return nil, nil
	}})
	if err != nil {
		return nil, nil, err
	}
	logits := p.Logits.Clone()
	p.Release()
	return out, logits, nil
}

// LensLayerNames names the lens's rows: "embed" (blocks.0.hook_resid_pre),
// then "L0" ... for each block's hook_resid_post.
func LensLayerNames(L int) []string {
	out := []string{"embed"}
	for l := 0; l < L; l++ {
		out = append(out, fmt.Sprintf("L%d", l))
	}
	return out
}

// LensToken is one of a lens's top predictions.
type LensToken struct {
	Token int         `json:"token"`
	Prob  jsonx.Float `json:"prob"`
}

// Lens is the logit lens or the tuned lens on one prompt: what the residual
// stream after each layer would predict if it went straight to the
// unembedding (nostalgebraist 2020), through a learned translator for the
// tuned lens (Belrose et al. 2023).
type Lens struct {
	Kind   string   `json:"kind"` // "logit" or "tuned"
	Tokens []int    `json:"tokens"`
	Layers []string `json:"layers"`
	// Top [layer][pos] lists the most probable next tokens, best first.
	Top [][][]LensToken `json:"top"`
	// AnswerProb and AnswerRank [layer][pos] are the probability and rank
	// (1 = the top token) of the answer: the next token of the prompt, or
	// at the last position the answer given (NaN and 0 without one).
	AnswerProb [][]jsonx.Float `json:"answer_prob"`
	AnswerRank [][]int         `json:"answer_rank"`
	// KL [layer][pos] is KL(final || lens) in nats, the model's own
	// next-token distribution against the lens's; MeanKL its mean over
	// positions.
	KL     [][]jsonx.Float `json:"kl"`
	MeanKL []jsonx.Float   `json:"mean_kl"`
}

// LensOptions configure ApplyLens.
type LensOptions struct {
	TopK int // default 5
	// Answer is the token expected after the last position; -1 for none.
	Answer int
	// Tuned applies the tuned lens's translators; nil is the logit lens.
	Tuned *TunedLens
}

// ApplyLens runs the logit lens (or with o.Tuned the tuned lens) on one
// prompt. At the last layer the logit lens is the model's own output.
func ApplyLens(m *models.Model, tokens []int, o LensOptions) (*Lens, error) {
	if m == nil {
		return nil, errors.New("circuits: nil model")
	}
	T := len(tokens)
	if err := m.CheckTokens(tokens, 1, T); err != nil {
		return nil, err
	}
	if o.TopK <= 0 {
		o.TopK = 5
	}
	c := m.Config
	if o.Answer >= c.DVocab {
		return nil, fmt.Errorf("circuits: answer %d outside the vocabulary [0,%d)", o.Answer, c.DVocab)
	}
	if err := o.Tuned.check(c); err != nil {
		return nil, err
	}
	u, err := newUnembedder(m)
	if err != nil {
		return nil, err
	}
	res, final, err := residuals(m, tokens, 1, T)
	if err != nil {
		return nil, err
	}
	V := c.DVocab
	lens := &Lens{Kind: "logit", Tokens: tokens, Layers: LensLayerNames(c.NLayers)}
	if o.Tuned != nil {
		lens.Kind = "tuned"
	}
	finalLogp := make([][]float64, T)
	for t := 0; t < T; t++ {
		finalLogp[t] = tensor.LogSoftmax(final.Data[t*V : (t+1)*V])
	}
	logits := make([]float32, T*V)
	for l, x := range res {
		if o.Tuned != nil {
			x = o.Tuned.translate(l, x, T)
		}
		u.logits(logits, x, T)
		var top [][]LensToken
		probs, ranks, kls := make([]jsonx.Float, T), make([]int, T), make([]jsonx.Float, T)
		var mean float64
		for t := 0; t < T; t++ {
			lp := tensor.LogSoftmax(logits[t*V : (t+1)*V])
			top = append(top, topTokens(lp, o.TopK))
			kl := klDiv(finalLogp[t], lp)
			kls[t] = jsonx.Float(kl)
			mean += kl / float64(T)
			ans := o.Answer
			if t+1 < T {
				ans = tokens[t+1]
			}
			probs[t] = jsonx.Float(math.NaN())
			if ans >= 0 {
				probs[t] = jsonx.Float(math.Exp(lp[ans]))
				ranks[t] = 1
				for _, v := range lp {
					if v > lp[ans] {
						ranks[t]++
					}
				}
			}
		}
		lens.Top = append(lens.Top, top)
		lens.AnswerProb = append(lens.AnswerProb, probs)
		lens.AnswerRank = append(lens.AnswerRank, ranks)
		lens.KL = append(lens.KL, kls)
		lens.MeanKL = append(lens.MeanKL, jsonx.Float(mean))
	}
	return lens, nil
}

func topTokens(lp []float64, k int) []LensToken {
	idx := make([]int, len(lp))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lp[idx[a]] > lp[idx[b]] })
	out := make([]LensToken, min(k, len(idx)))
	for i := range out {
		out[i] = LensToken{Token: idx[i], Prob: jsonx.Float(math.Exp(lp[idx[i]]))}
	}
	return out
}

// klDiv is KL(p || q) for log-probabilities p and q.
func klDiv(p, q []float64) float64 {
	var kl float64
	for i, lp := range p {
		if lp > math.Inf(-1) {
			kl += math.Exp(lp) * (lp - q[i])
		}
	}
	return kl
}
