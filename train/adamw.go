package train

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/models"
)

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov &
// Hutter 2019, "Decoupled Weight Decay Regularization"), computed as
// PyTorch's torch.optim.AdamW does. For update t (1-based) with learning rate
// lr, gradient g and parameter p:
//
//	p ← p − lr·λ·p                               (only where decay applies)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	p ← p − lr · (m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε)
//
// Following nanoGPT, weight decay applies to every parameter with two or more
// dimensions (weight matrices and the token and position embeddings), never to
// biases or LayerNorm gains and biases.
type AdamW struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64

	// M and V are the first and second moments, laid out as the parameters.
	M, V []float32
	// T is the number of updates taken so far (the t of bias correction).
	T int

	spans []span // the parameter buffer in runs that do or do not decay
}

// span is a half-open range [lo,hi) of the flat parameter buffer.
type span struct {
	lo, hi int
	decay  bool
}

// NewAdamW returns an optimizer with zero moments for parameters laid out as
// p. The hyperparameters are copied from cfg.
func NewAdamW(p *models.Params, cfg Config) *AdamW {
	o := &AdamW{
		Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay,
		M: make([]float32, len(p.Data)), V: make([]float32, len(p.Data)),
	}
	for _, q := range p.List() {
		n := 1
		for _, d := range q.Shape {
			n *= d
		}
		s := span{q.Offset, q.Offset + n, Decays(q)}
		if k := len(o.spans); k > 0 && o.spans[k-1].decay == s.decay && o.spans[k-1].hi == s.lo {
			o.spans[k-1].hi = s.hi
		} else {
			o.spans = append(o.spans, s)
		}
	}
	return o
}

// Decays reports whether AdamW applies weight decay to a parameter: true for
// tensors of two or more dimensions (nanoGPT's rule), false for biases and
// LayerNorm parameters.
func Decays(p models.Param) bool { return len(p.Shape) >= 2 }

// Step applies one update with learning rate lr to params, given grads of the
// same layout. It increments T.
func (o *AdamW) Step(params, grads []float32, lr float64) error {
	if len(params) != len(o.M) || len(grads) != len(o.M) {
		return fmt.Errorf("train: AdamW has %d moments, got %d parameters and %d gradients", len(o.M), len(params), len(grads))
	}
	o.T++
	t := float64(o.T)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1, c2 := 1-b1, 1-b2
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	eps := float32(o.Eps)
	shrink := float32(1 - lr*o.WeightDecay)
	for _, s := range o.spans {
		p, g := params[s.lo:s.hi], grads[s.lo:s.hi]
		m, v := o.M[s.lo:s.hi], o.V[s.lo:s.hi]
		g = g[:len(p)]
		m, v = m[:len(p)], v[:len(p)]
		if s.decay && o.WeightDecay != 0 {
			for i := range p {
				p[i] *= shrink
			}
		}
		for i := range p {
			gi := g[i]
			mi := b1*m[i] + c1*gi
			vi := b2*v[i] + c2*gi*gi
			m[i], v[i] = mi, vi
			denom := sqrt32(vi)*invSqrtBC2 + eps
			p[i] -= stepSize * mi / denom
		}
	}
	return nil
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
