package models

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestBackwardDFinalFiniteDifferences checks BackwardOptions.DFinal: the
// metric is a fixed linear read of Pass.Final, f = Σ w·final, as a reward
// head's; every parameter's gradient must match central differences of f,
// and the unembedding must get none.
func TestBackwardDFinalFiniteDifferences(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(9, 9))
			B, T, C := 2, m.Config.NCtx, m.Config.DModel
			tokens := randomTokens(rng, B*T, m.Config.DVocab)
			w := make([]float32, B*T*C)
			for i := range w {
				w[i] = float32(rng.NormFloat64())
			}
			metric := func() float64 {
				p, err := m.Forward(tokens, B, T, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				f := p.Final()
				if !f.SameShape([]int{B, T, C}) {
					t.Fatalf("Final has shape %v", f.Shape)
				}
				s := 0.0
				for i, v := range f.Data {
					s += float64(w[i] * v)
				}
				return s
			}
			pass, err := m.Forward(tokens, B, T, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			grads := m.Params.ZerosLike()
			if err := m.Backward(pass, grads, &BackwardOptions{DFinal: tensor.View(w, B, T, C)}); err != nil {
				t.Fatal(err)
			}
			for _, prm := range m.Params.List() {
				n := tensor.Numel(prm.Shape)
				if strings.HasPrefix(prm.Name, "lm_head") {
					for i := prm.Offset; i < prm.Offset+n; i++ {
						if grads.Data[i] != 0 {
							t.Fatalf("%s got gradient %g from DFinal", prm.Name, grads.Data[i])
						}
					}
					continue
				}
				for trial := 0; trial < 4; trial++ {
					i := prm.Offset + rng.IntN(n)
					checkFD(t, prm.Name, m.Params.Data, i, float64(grads.Data[i]), metric)
				}
			}
			bad := tensor.View(w[:B*T], B, T)
			if err := m.Backward(pass, nil, &BackwardOptions{DFinal: bad}); err == nil || !strings.Contains(err.Error(), "DFinal") {
				t.Errorf("wrong DFinal shape: err %v", err)
			}
		})
	}
}
