package models

import (
	"math"
	"math/rand/v2"
)

// initPyTorch draws PyTorch's default initialization of the same
// architecture built from torch.nn modules (Config.Init "pytorch"):
// nn.Embedding weights (token and position embeddings) N(0, 1); every
// nn.Linear's weight and bias U(−1/√fan_in, 1/√fan_in), fan_in being the
// layer's input width (d_model for the QKV projection, the MLP's input and
// the unembedding; n_heads·d_head for the attention output; d_mlp for the
// MLP's output); nn.LayerNorm weight 1 and bias 0. With a tied unembedding,
// the unembedding bias is drawn as that of an nn.Linear(d_model, d_vocab).
//
// Small models train differently from this start than from GPT-2's
// N(0, 0.02²): the embeddings are 50 times larger than the attention
// outputs' scale, so the residual stream is led by the token and position
// from the first step (docs/induction-heads.md measures the difference).
func (m *Model) initPyTorch(rng *rand.Rand) {
	c := m.Config
	HD := c.NHeads * c.DHead
	uniform := func(s []float32, fanIn int) {
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range s {
			s[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	for _, p := range m.Params.List() {
		s := m.Params.slice(p.Name)
		switch {
		case hasSuffix(p.Name, "wte.weight", "wpe.weight"):
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
		case hasSuffix(p.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight"):
			for i := range s {
				s[i] = 1
			}
		case hasSuffix(p.Name, "ln_1.bias", "ln_2.bias", "ln_f.bias"):
			clear(s)
		case hasSuffix(p.Name, "attn.c_proj.weight", "attn.c_proj.bias"):
			uniform(s, HD)
		case hasSuffix(p.Name, "mlp.c_proj.weight", "mlp.c_proj.bias"):
			uniform(s, c.DMLP)
		default: // attn.c_attn, mlp.c_fc, lm_head: nn.Linear(d_model, ·)
			uniform(s, c.DModel)
		}
	}
}
