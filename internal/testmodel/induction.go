package testmodel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Dimensions of the hand-set induction model: the residual stream is
// [one-hot position | one-hot token | one-hot previous token].
const (
	InductionCtx   = 16
	InductionVocab = 32
	InductionModel = InductionCtx + 2*InductionVocab
	InductionHeads = 4
)

// Induction builds a 2-layer attention-only model without LayerNorm that
// does induction by a known circuit (Olsson et al. 2022), the ground truth
// for circuit discovery: head L0H0 attends from each position to the one
// before (its queries and keys read the position block) and writes that
// position's token into the previous-token block; head L1H0's query reads
// the current token and its key the previous-token block (K-composition
// with L0H0), so it attends to the position after an earlier copy of the
// current token, and its OV circuit copies that position's token into the
// logits (the unembedding, tied, reads the token block). The other six
// heads have small random weights (std noise), so that the graph has edges
// that matter little but not nothing.
func Induction(t testing.TB, noise float64) *models.Model {
	t.Helper()
	const (
		P, V, C, H, D = InductionCtx, InductionVocab, InductionModel, InductionHeads, InductionVocab
		tok, prev     = P, P + V // block offsets
	)
	m := Zero(t, models.Config{NLayers: 2, NHeads: H, DModel: C, DHead: D, NCtx: P, DVocab: V,
		AttnOnly: true, Normalization: models.NormNone, Seed: 1})
	rng := rand.New(rand.NewPCG(7, 11))
	sqrtD := math.Sqrt(D)
	WE, Wpos := tensor.New(V, C), tensor.New(P, C)
	for v := range V {
		WE.Set(1, v, tok+v)
	}
	for p := range P {
		Wpos.Set(1, p, p)
	}
	Set(t, m, "W_E", 0, WE)
	Set(t, m, "W_pos", 0, Wpos)
	for l := range 2 {
		w := map[string]*tensor.Tensor{"W_Q": tensor.New(H, C, D), "W_K": tensor.New(H, C, D), "W_V": tensor.New(H, C, D), "W_O": tensor.New(H, D, C)}
		// Drawn in a fixed order: ranging over the map would hand the noise
		// to the matrices in a different order in every process.
		for _, name := range []string{"W_Q", "W_K", "W_V", "W_O"} {
			x := w[name]
			for i := range x.Data {
				if i/(len(x.Data)/H) > 0 { // heads 1..H-1
					x.Data[i] = float32(rng.NormFloat64() * noise)
				}
			}
			for i := range x.Data[:len(x.Data)/H] {
				x.Data[i] = 0
			}
		}
		for d := range D {
			if l == 0 {
				// Previous-token head: score 8 (after the 1/√d_head) from
				// position i to i-1; copies the token into the prev block.
				if d < P {
					w["W_Q"].Set(float32(8*sqrtD), 0, d, d)
				}
				if d+1 < P {
					w["W_K"].Set(1, 0, d, d+1)
				}
				w["W_V"].Set(1, 0, tok+d, d)
				w["W_O"].Set(1, 0, d, prev+d)
			} else {
				// Induction head: score 6 where the key's previous token is
				// the query's token; copies the key's token with gain 8.
				w["W_Q"].Set(float32(6*sqrtD), 0, tok+d, d)
				w["W_K"].Set(1, 0, prev+d, d)
				w["W_V"].Set(1, 0, tok+d, d)
				w["W_O"].Set(8, 0, d, tok+d)
			}
		}
		for name, x := range w {
			Set(t, m, name, l, x)
		}
	}
	return m
}
