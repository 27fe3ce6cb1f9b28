package circuits_test

import (
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// BenchmarkEAPGPT2Small times EAP on a GPT-2-small-shaped model (12 layers
// of 12 heads, d_model 768, GPT-2's vocabulary) on 32 prompt pairs of 16
// tokens, beside one forward and backward pass of the same 32 prompts: the
// ratio is EAP's cost in passes (its ideal is about 3). Run it with
//
//	go test ./circuits -run '^$' -bench EAPGPT2Small -benchtime 1x
func BenchmarkEAPGPT2Small(b *testing.B) {
	cfg := models.Config{NLayers: 12, NHeads: 12, DModel: 768, NCtx: 16, DVocab: 50257, Seed: 1}
	m := testmodel.New(b, cfg)
	pairs := randomPairs(1, 32, 16, cfg.DVocab)
	tokens := make([]int, 0, 32*16)
	for _, p := range pairs {
		tokens = append(tokens, p.Clean...)
	}
	b.Run("forward+backward", func(b *testing.B) {
		for range b.N {
			p, err := m.Forward(tokens, 32, 16, tokens, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Backward(p, nil, nil); err != nil {
				b.Fatal(err)
			}
			p.Release()
		}
	})
	for _, method := range []circuits.Method{circuits.EAP, circuits.EAPIG} {
		b.Run(string(method), func(b *testing.B) {
			for range b.N {
				if _, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{Method: method}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
