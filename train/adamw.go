package train

import (
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Float is the element type of the parameters an AdamW updates: float32 for
// the transformers of package models, float64 for the toy models of package
// superposition and the sparse autoencoders of package sae.
type Float interface{ ~float32 | ~float64 }

// Hyper holds AdamW's hyperparameters apart from the learning rate, which
// each Step takes (schedules change it from step to step).
type Hyper struct {
	Beta1, Beta2 float64
	Eps          float64
	// WeightDecay is the decoupled decay λ, applied only to the parameters
	// the optimizer's decay mask covers.
	WeightDecay float64
}

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
// The parameters are one flat vector of F; a decay mask, given as ranges of
// that vector, says where weight decay applies. Arithmetic is done in F.
// It is the one optimizer of the module: train.Run, the toy models and the
// sparse autoencoders all step with it.
type AdamW[F Float] struct {
	Hyper

	// M and V are the first and second moments, laid out as the parameters.
	M, V []F
	// T is the number of updates taken so far (the t of bias correction).
	T int

	runs []run // the parameter vector in runs that do or do not decay
}

// Span is the half-open range [Lo, Hi) of a flat parameter vector.
type Span struct{ Lo, Hi int }

// run is a range of the parameter vector with its decay flag; the runs of
// an optimizer cover the vector in order.
type run struct {
	lo, hi int
	decay  bool
}

// NewAdamWMasked returns an optimizer with zero moments for n parameters,
// with weight decay applied to the ranges in decay (which may overlap and
// come in any order; nil means no decay anywhere). It panics if a range lies
// outside [0, n), a programming error.
func NewAdamWMasked[F Float](n int, h Hyper, decay []Span) *AdamW[F] {
	o := &AdamW[F]{Hyper: h, M: make([]F, n), V: make([]F, n)}
	spans := slices.Clone(decay)
	slices.SortFunc(spans, func(a, b Span) int { return a.Lo - b.Lo })
	pos := 0
	add := func(lo, hi int, d bool) {
		if hi <= lo {
			return
		}
		if k := len(o.runs); k > 0 && o.runs[k-1].decay == d && o.runs[k-1].hi == lo {
			o.runs[k-1].hi = hi
			return
		}
		o.runs = append(o.runs, run{lo, hi, d})
	}
	for _, s := range spans {
		if s.Lo < 0 || s.Hi > n || s.Lo > s.Hi {
			panic(fmt.Sprintf("train: AdamW decay range [%d,%d) outside [0,%d)", s.Lo, s.Hi, n))
		}
		add(pos, s.Lo, false)
		add(max(pos, s.Lo), s.Hi, true)
		pos = max(pos, s.Hi)
	}
	add(pos, n, false)
	return o
}

// NewAdamW returns an optimizer with zero moments for a model's parameters
// p, hyperparameters copied from cfg. Following nanoGPT, weight decay
// applies to every parameter with two or more dimensions (weight matrices
// and the token and position embeddings), never to biases or LayerNorm gains
// and biases (see Decays); with cfg.Decay "all" it applies to every
// parameter, as torch.optim.AdamW does when given model.parameters().
func NewAdamW(p *models.Params, cfg Config) *AdamW[float32] {
	var decay []Span
	for _, q := range p.List() {
		if cfg.decay() == DecayAll || Decays(q) {
			decay = append(decay, Span{q.Offset, q.Offset + tensor.Numel(q.Shape)})
		}
	}
	h := Hyper{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay}
	return NewAdamWMasked[float32](len(p.Data), h, decay)
}

// Decays reports whether AdamW applies weight decay to a parameter: true for
// tensors of two or more dimensions (nanoGPT's rule), false for biases and
// LayerNorm parameters.
func Decays(p models.Param) bool { return len(p.Shape) >= 2 }

// adamWMinChunk is the fewest parameters a worker of Step updates: a
// goroutine's start and join cost a few microseconds, the update of this
// many values some hundreds.
const adamWMinChunk = 1 << 16

// Step applies one update with learning rate lr to params, given grads of the
// same layout. It increments T.
func (o *AdamW[F]) Step(params, grads []F, lr float64) error {
	if len(params) != len(o.M) || len(grads) != len(o.M) {
		return fmt.Errorf("train: AdamW has %d moments, got %d parameters and %d gradients", len(o.M), len(params), len(grads))
	}
	o.T++
	t := float64(o.T)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	b1, b2 := F(o.Beta1), F(o.Beta2)
	c1, c2 := 1-b1, 1-b2
	stepSize := F(lr / bc1)
	// Multiplying by 1/√(1−β2ᵗ) rather than dividing by √(1−β2ᵗ) keeps one
	// division per element; the two differ in the last place only.
	invSqrtBC2 := F(1 / math.Sqrt(bc2))
	eps := F(o.Eps)
	shrink := F(1 - lr*o.WeightDecay)
	update := func(lo, hi int) {
		for _, s := range o.runs {
			s.lo, s.hi = max(s.lo, lo), min(s.hi, hi)
			if s.lo >= s.hi {
				continue
			}
			p, g := params[s.lo:s.hi], grads[s.lo:s.hi]
			m, v := o.M[s.lo:s.hi], o.V[s.lo:s.hi]
			g = g[:len(p)]
			m, v = m[:len(p)], v[:len(p)]
			keep := F(1)
			if s.decay && o.WeightDecay != 0 {
				keep = shrink
			}
			for i := range p {
				pi := p[i] * keep // ×1 is exact: undecayed runs keep their bits
				gi := g[i]
				mi := b1*m[i] + c1*gi
				vi := b2*v[i] + c2*gi*gi
				m[i], v[i] = mi, vi
				denom := F(math.Sqrt(float64(vi)))*invSqrtBC2 + eps
				p[i] = pi - stepSize*mi/denom
			}
		}
	}
	// The update is element by element, so cutting the vector among the
	// cores changes no value. Small optimizers (the toy models', stepped
	// from many goroutines at once) stay on their caller's goroutine.
	n := len(params)
	workers := min(runtime.GOMAXPROCS(0), n/adamWMinChunk)
	if workers <= 1 {
		update(0, n)
		return nil
	}
	var grp parallel.Group
	defer grp.Wait()
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		grp.Go(func() { update(lo, min(lo+chunk, n)) })
	}
	update(0, chunk)
	return nil
}
