package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// Recomputing a head's q and its output from W_Q, b_Q and W_O must give the
// model's own hook_q and hook_result: the accessors read the right elements.
func TestWeightsMatchForwardPass(t *testing.T) {
	for _, tc := range testConfigs {
		m := randomModel(t, tc.cfg)
		c := m.Config
		C, H, D := c.DModel, c.NHeads, c.DHead
		T := 4
		toks := randomTokens(rand.New(rand.NewPCG(3, 3)), T, c.DVocab)
		acts := map[string]*tensor.Tensor{}
		_, err := m.Forward(toks, 1, T, nil, &Options{AttnResult: true, Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
			acts[n] = a.Clone()
			return nil, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		var in *tensor.Tensor
		switch c.Normalization {
		case NormLN:
			in = acts["blocks.0.ln1.hook_normalized"] // the LayerNorm's output
		case NormRMS: // hook_normalized is before the gain
			in = acts["blocks.0.ln1.hook_normalized"].Clone()
			w := m.MustWeight("ln1.w", 0)
			for i := range in.Data {
				in.Data[i] *= w.Data[i%C]
			}
		default:
			in = acts["blocks.0.hook_resid_pre"]
		}
		l := 0
		WQ, bQ, WO := m.MustWeight("W_Q", l), m.MustWeight("b_Q", l), m.MustWeight("W_O", l)
		q, z, res := acts["blocks.0.attn.hook_q"], acts["blocks.0.attn.hook_z"], acts["blocks.0.attn.hook_result"]
		var pos *tensor.Tensor
		if c.Positional == PosShortformer {
			pos = m.MustWeight("W_pos", 0)
		}
		for tt := 0; tt < T; tt++ {
			for h := 0; h < H; h++ {
				for d := 0; d < D; d++ {
					s := bQ.At(h, d)
					for k := 0; k < C; k++ {
						x := in.At(0, tt, k)
						if c.Positional == PosShortformer {
							x += pos.At(tt, k)
						}
						s += x * WQ.At(h, k, d)
					}
					if math.Abs(float64(s-q.At(0, tt, h, d))) > 1e-4 {
						t.Fatalf("%s: W_Q recomputes q=%g, hook_q=%g", tc.name, s, q.At(0, tt, h, d))
					}
				}
				for k := 0; k < C; k++ {
					var s float32
					for d := 0; d < D; d++ {
						s += z.At(0, tt, h, d) * WO.At(h, d, k)
					}
					if math.Abs(float64(s-res.At(0, tt, h, k))) > 1e-4 {
						t.Fatalf("%s: W_O recomputes %g, hook_result %g", tc.name, s, res.At(0, tt, h, k))
					}
				}
			}
		}
		// W_K repeats each key/value head over its group of query heads.
		WK, k := m.MustWeight("W_K", l), acts["blocks.0.attn.hook_k"]
		G := H / c.NKVHeads
		for h := 0; h < H; h++ {
			s := m.MustWeight("b_K", l).At(h, 0)
			for kk := 0; kk < C; kk++ {
				x := in.At(0, 1, kk)
				if pos != nil {
					x += pos.At(1, kk)
				}
				s += x * WK.At(h, kk, 0)
			}
			if math.Abs(float64(s-k.At(0, 1, h/G, 0))) > 1e-4 {
				t.Fatalf("%s: W_K of head %d recomputes k=%g, hook_k=%g", tc.name, h, s, k.At(0, 1, h/G, 0))
			}
		}
		// W_U is the transpose of its storage, and SetWeight inverts Weight.
		WU := m.MustWeight("W_U", 0)
		if !WU.SameShape([]int{C, c.DVocab}) {
			t.Fatalf("W_U shape %v", WU.Shape)
		}
		WU.Set(42, 1, 2)
		if err := m.SetWeight("W_U", 0, WU); err != nil {
			t.Fatal(err)
		}
		if m.MustWeight("W_U", 0).At(1, 2) != 42 {
			t.Fatal("SetWeight did not round-trip")
		}
	}
	m := randomModel(t, testConfigs[1].cfg)
	if _, err := m.Weight("W_in", 0); err == nil {
		t.Error("attention-only model returned W_in")
	}
	if _, err := m.Weight("W_Q", 9); err == nil {
		t.Error("layer 9 accepted")
	}
	if _, err := m.Weight("W_QQ", 0); err == nil {
		t.Error("unknown name accepted")
	}
}
