package sae

import "github.com/mechinterp/mechinterp/tensor"

// SAE is a trained sparse autoencoder on D-dimensional activations with F
// features: x_bar = x - b_d, f = σ(W_e x_bar + b_e), x_hat = W_d f + b_d
// (Bricken et al. 2023, "Problem Setup"). Decoder columns have unit norm.
type SAE struct {
	// Architecture names σ ("" reads as ReLU); K is TopK's and
	// BatchTopK's k.
	Architecture Architecture `json:"architecture,omitempty"`
	K            int          `json:"k,omitempty"`
	// Threshold is JumpReLU's θ per latent; for BatchTopK, the threshold
	// estimated in training, which inference applies as JumpReLU does.
	Threshold []float64 `json:"threshold,omitempty"`
	D, F      int
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
	act, err := s.activation()
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

// FoldScale turns an SAE trained on activations multiplied by c into one
// that reads and writes the raw activations: W_e becomes c W_e, b_d
// becomes b_d / c and W_d becomes W_d / c, so that Decode(Encode(x)) of
// the new SAE is Decode(Encode(c x)) / c of the old. Decoder columns then
// have norm 1/c.
func (s *SAE) FoldScale(c float64) {
	if c == 1 || c == 0 {
		return
	}
	for k := range s.We {
		for j := range s.We[k] {
			s.We[k][j] *= c
			s.Wd[k][j] /= c
		}
	}
	for j := range s.Bd {
		s.Bd[j] /= c
	}
}
