package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestAttentionHookedPaths: attention runs its three steps head by head
// without hooks and in turn with them (so that a hook sees and may change
// the scores and the pattern), and its backward pass likewise; both give
// the same logits, loss and parameter gradients. Sequences of 80 tokens
// take several query blocks (attnBlock) and a ragged last one.
func TestAttentionHookedPaths(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.NCtx = 80
			m := randomModel(t, cfg)
			rng := rand.New(rand.NewPCG(6, 6))
			B, T := 2, cfg.NCtx
			tokens := randomTokens(rng, B*T, cfg.DVocab)
			targets := randomTokens(rng, B*T, cfg.DVocab)
			run := func(hooked bool) []float32 {
				var opt Options
				var bopt BackwardOptions
				if hooked {
					opt.Hook = func(string, *tensor.Tensor) (*tensor.Tensor, error) { return nil, nil }
					bopt.GradHook = func(string, *tensor.Tensor) error { return nil }
				}
				p, err := m.Forward(tokens, B, T, targets, &opt)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Release()
				g := m.Params.ZerosLike()
				if err := m.Backward(p, g, &bopt); err != nil {
					t.Fatal(err)
				}
				out := append([]float32{p.Loss}, p.Logits.Data...)
				return append(out, g.Data...)
			}
			plain, hooked := run(false), run(true)
			for i := range plain {
				if d := math.Abs(float64(plain[i] - hooked[i])); d > 1e-6*(1+math.Abs(float64(plain[i]))) {
					t.Fatalf("value %d: %g without hooks, %g with", i, plain[i], hooked[i])
				}
			}
		})
	}
}
