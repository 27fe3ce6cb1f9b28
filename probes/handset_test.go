package probes

import (
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Dimensions of the hand-set model: positions and tokens each get their own
// one-hot block of the residual stream.
const (
	hsCtx   = 16
	hsVocab = 16
	hsModel = hsCtx + hsVocab
	hsHead  = 16
)

// handSet builds a 1-layer attention-only model without LayerNorm whose
// heads have exactly known behaviour. Residual stream: [one-hot position |
// one-hot token]. Head h attends from query i to key i-shifts[h] with logit
// 30 (to the keys 0..i uniformly while i < shifts[h]); its OV circuit maps
// token t to the logit vector ov[h](t) (W_V reads the token block, W_O writes
// ov[h](t) into it, and the tied unembedding reads it back).
func handSet(t *testing.T, shifts []int, ov []func(tok int) []float32) *models.Model {
	t.Helper()
	H := len(shifts)
	m, err := models.New(models.Config{NLayers: 1, NHeads: H, DModel: hsModel, DHead: hsHead, NCtx: hsCtx,
		DVocab: hsVocab, AttnOnly: true, Normalization: models.NormNone, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	WE, Wpos := tensor.New(hsVocab, hsModel), tensor.New(hsCtx, hsModel)
	for v := range hsVocab {
		WE.Set(1, v, hsCtx+v)
	}
	for p := range hsCtx {
		Wpos.Set(1, p, p)
	}
	WQ, WK, WV, WO := tensor.New(H, hsModel, hsHead), tensor.New(H, hsModel, hsHead), tensor.New(H, hsModel, hsHead), tensor.New(H, hsHead, hsModel)
	const beta = 30 * 4 // the scores are divided by √d_head = 4
	for h, s := range shifts {
		for c := range hsCtx {
			WQ.Set(beta, h, c, c)
			if c+s < hsHead {
				WK.Set(1, h, c, c+s)
			}
		}
		for d := range hsHead {
			WV.Set(1, h, hsCtx+d, d)
			row := ov[h](d)
			for v, x := range row {
				WO.Set(x, h, d, hsCtx+v)
			}
		}
	}
	zero := func(name string, l int) {
		w, err := m.Weight(name, l)
		if err != nil {
			t.Fatal(err)
		}
		clear(w.Data)
		if err := m.SetWeight(name, l, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"b_Q", "b_K", "b_V", "b_O", "b_U"} {
		zero(name, 0)
	}
	for name, w := range map[string]*tensor.Tensor{"W_E": WE, "W_pos": Wpos, "W_Q": WQ, "W_K": WK, "W_V": WV, "W_O": WO} {
		if err := m.SetWeight(name, 0, w); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// OV maps for handSet.
func ovCopy(tok int) []float32   { r := make([]float32, hsVocab); r[tok] = 1; return r }
func ovNegate(tok int) []float32 { r := make([]float32, hsVocab); r[tok] = -1; return r }
func ovNext(tok int) []float32   { r := make([]float32, hsVocab); r[(tok+1)%hsVocab] = 1; return r }
func ovHalf(tok int) []float32   { r := ovCopy(tok); r[(tok+1)%hsVocab] = 1; return r }
