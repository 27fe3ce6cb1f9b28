package testmodel

import (
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Dimensions of the hand-set model: positions and tokens each get their own
// one-hot block of the residual stream.
const (
	HandCtx   = 16
	HandVocab = 16
	HandModel = HandCtx + HandVocab
	HandHead  = 16
)

// HandSet builds a 1-layer attention-only model without LayerNorm whose
// heads have exactly known behaviour. Residual stream: [one-hot position |
// one-hot token]. Head h attends from query i to key i-shifts[h] with logit
// 30 (to the keys 0..i uniformly while i < shifts[h]); its OV circuit maps
// token t to the logit vector ov[h](t) (W_V reads the token block, W_O
// writes ov[h](t) into it, and the tied unembedding reads it back).
func HandSet(t testing.TB, shifts []int, ov []func(tok int) []float32) *models.Model {
	t.Helper()
	H := len(shifts)
	m := Zero(t, models.Config{NLayers: 1, NHeads: H, DModel: HandModel, DHead: HandHead, NCtx: HandCtx,
		DVocab: HandVocab, AttnOnly: true, Normalization: models.NormNone, Seed: 1})
	WE, Wpos := tensor.New(HandVocab, HandModel), tensor.New(HandCtx, HandModel)
	for v := range HandVocab {
		WE.Set(1, v, HandCtx+v)
	}
	for p := range HandCtx {
		Wpos.Set(1, p, p)
	}
	WQ, WK, WV, WO := tensor.New(H, HandModel, HandHead), tensor.New(H, HandModel, HandHead), tensor.New(H, HandModel, HandHead), tensor.New(H, HandHead, HandModel)
	const beta = 30 * 4 // the scores are divided by √d_head = 4
	for h, s := range shifts {
		for c := range HandCtx {
			WQ.Set(beta, h, c, c)
			if c+s < HandHead {
				WK.Set(1, h, c, c+s)
			}
		}
		for d := range HandHead {
			WV.Set(1, h, HandCtx+d, d)
			for v, x := range ov[h](d) {
				WO.Set(x, h, d, HandCtx+v)
			}
		}
	}
	for name, w := range map[string]*tensor.Tensor{"W_E": WE, "W_pos": Wpos, "W_Q": WQ, "W_K": WK, "W_V": WV, "W_O": WO} {
		Set(t, m, name, 0, w)
	}
	return m
}

// OV maps for HandSet: a head that copies its token (OVCopy), suppresses it
// (OVNegate), predicts its successor (OVNext), or does both halves of
// copying and succeeding (OVHalf).
func OVCopy(tok int) []float32   { return oneHot(tok, 1) }
func OVNegate(tok int) []float32 { return oneHot(tok, -1) }
func OVNext(tok int) []float32   { return oneHot((tok+1)%HandVocab, 1) }
func OVHalf(tok int) []float32 {
	r := OVCopy(tok)
	r[(tok+1)%HandVocab] = 1
	return r
}

func oneHot(tok int, v float32) []float32 {
	r := make([]float32, HandVocab)
	r[tok] = v
	return r
}
