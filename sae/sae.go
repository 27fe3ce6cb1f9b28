package sae

import "github.com/mechinterp/mechinterp/tensor"

// SAE is a trained sparse autoencoder on D-dimensional activations with F
// features: x_bar = x - b_d, f = σ(W_e x_bar + b_e), x_hat = W_d f + b_d
// (Bricken et al. 2023, "Problem Setup"). Decoder columns have unit norm.
type SAE struct {
	// Architecture names σ ("" reads as ReLU).
	Architecture Architecture `json:"architecture,omitempty"`
	D, F         int
	// We[f] is encoder row f (length D); Wd[f] is decoder column f, the
	// dictionary atom of feature f (length D, unit norm).
	We [][]float64 `json:"W_enc"`
	Be []float64   `json:"b_enc"`
	Wd [][]float64 `json:"W_dec"`
	Bd []float64   `json:"b_dec"`
}

// Encode returns the feature activations f of x. It panics on an unknown
// architecture, which Train never produces.
func (s *SAE) Encode(x []float64) []float64 {
	act, err := activationOf(s.Architecture)
	if err != nil {
		panic(err)
	}
	xb := make([]float64, s.D)
	for j := range xb {
		xb[j] = x[j] - s.Bd[j]
	}
	pre := make([]float64, s.F)
	for k := range pre {
		pre[k] = tensor.Dot64(s.We[k], xb) + s.Be[k]
	}
	f := make([]float64, s.F)
	act.forward(pre, f)
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
