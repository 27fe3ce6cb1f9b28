package sae

import (
	"fmt"
	"slices"
)

// activation is the seam between the SAE and its architecture: the
// function σ from pre-activations to feature activations of one row, and
// the sparsity penalty with its gradient. Training computes the
// reconstruction gradient only for features with f_k != 0, so an
// architecture must pass no gradient to pre_k where f_k = 0 (true of ReLU,
// TopK and, apart from its threshold, JumpReLU).
type activation interface {
	// forward sets f = σ(pre) and returns the penalty of f before λ.
	forward(pre, f []float64) float64
	// backward turns up, ∂(reconstruction loss)/∂f, into ∂loss/∂pre in
	// place, adding the penalty's gradient weighted by lambda.
	backward(pre, f, up []float64, lambda float64)
}

// activationOf returns the activation of an architecture ("" is ReLU); k
// is TopK's number of active features.
func activationOf(a Architecture, k int) (activation, error) {
	switch a {
	case ReLU, "":
		return reluL1{}, nil
	case TopK:
		if k <= 0 {
			return nil, fmt.Errorf("SAE architecture %s needs k > 0, got %d", TopK, k)
		}
		return &topK{k: k}, nil
	}
	return nil, fmt.Errorf("unknown SAE architecture %q (want %s or %s)", a, ReLU, TopK)
}

// topK keeps the k largest pre-activations, ReLU'd, and zeroes the rest
// (Gao et al. 2024, Scaling and evaluating sparse autoencoders); it has no
// penalty, since sparsity is fixed at k. Ties at the k-th value keep the
// lowest indices, so exactly min(k, F) entries can be non-zero.
type topK struct {
	k       int
	scratch []float64
}

func (a *topK) forward(pre, f []float64) float64 {
	f = f[:len(pre)]
	k := min(a.k, len(pre))
	a.scratch = append(a.scratch[:0], pre...)
	slices.Sort(a.scratch)
	thr := a.scratch[len(pre)-k] // the k-th largest
	above := 0
	for _, p := range pre {
		if p > thr {
			above++
		}
	}
	ties := k - above // entries equal to thr that are kept
	for i, p := range pre {
		switch {
		case p > thr || (p == thr && ties > 0):
			if p == thr {
				ties--
			}
			f[i] = max(p, 0)
		default:
			f[i] = 0
		}
	}
	return 0
}

// backward passes the gradient through the kept positive entries only.
func (a *topK) backward(pre, f, up []float64, _ float64) {
	up = up[:len(pre)]
	for i := range up {
		if f[i] == 0 {
			up[i] = 0
		}
	}
}

// reluL1 is f = ReLU(pre) with penalty Σ f (decoder columns of unit norm).
type reluL1 struct{}

func (reluL1) forward(pre, f []float64) float64 {
	f = f[:len(pre)]
	var s float64
	for k, p := range pre {
		v := max(p, 0)
		f[k] = v
		s += v
	}
	return s
}

func (reluL1) backward(pre, f, up []float64, lambda float64) {
	up = up[:len(pre)]
	for k, p := range pre {
		if p > 0 {
			up[k] += lambda
		} else {
			up[k] = 0
		}
	}
}
