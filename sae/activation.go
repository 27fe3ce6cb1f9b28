package sae

import "fmt"

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

// activationOf returns the activation of an architecture ("" is ReLU).
func activationOf(a Architecture) (activation, error) {
	switch a {
	case ReLU, "":
		return reluL1{}, nil
	}
	return nil, fmt.Errorf("unknown SAE architecture %q (want %s)", a, ReLU)
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
