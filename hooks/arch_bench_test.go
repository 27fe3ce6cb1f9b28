package hooks

import (
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/models"
)

// BenchmarkCacheArch is a forward pass with a full cache (every hook point
// kept) of a Pythia-160M-shaped and a Llama-shaped model (12 layers,
// d_model 768, 12 query heads, 4 key/value heads, SwiGLU) with random
// weights on 128 tokens: the workload scripts/torch_arch_ref.py times in
// PyTorch (docs/PERFORMANCE.md). Run it with
//
//	go test ./hooks -run '^$' -bench CacheArch -benchtime 10x
func BenchmarkCacheArch(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  models.Config
	}{
		{"pythia160m", models.Config{NLayers: 12, NHeads: 12, DModel: 768, DMLP: 3072, NCtx: 2048, DVocab: 50304,
			Positional: models.PosRotary, RotaryDim: 16, ParallelAttnMLP: true, ActFn: models.ActGelu,
			Untied: true, NoUnembedBias: true}},
		{"llama", models.Config{NLayers: 12, NHeads: 12, NKVHeads: 4, DModel: 768, DMLP: 2048, NCtx: 2048, DVocab: 32000,
			Normalization: models.NormRMS, Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true,
			NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true, Untied: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := models.New(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			const T = 128
			rng := rand.New(rand.NewPCG(1, 1))
			tokens := make([]int, T)
			for i := range tokens {
				tokens[i] = rng.IntN(tc.cfg.DVocab)
			}
			filter := MustFilter("*")
			run := func() {
				_, cache, err := RunWithCache(m, tokens, 1, T, filter)
				if err != nil {
					b.Fatal(err)
				}
				cache.Release()
			}
			for range 2 {
				run() // warm-up, as the PyTorch script's
			}
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(T*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
