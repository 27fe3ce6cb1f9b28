package sae_test

import (
	"context"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
)

// BenchmarkStoreVsForward reports the activation store's tokens/s at
// blocks.0.mlp.hook_post of a model of the neurons demo's shape (1 layer,
// d_model 128, 512 neurons, vocabulary 4096, context 64) beside the plain
// forward pass's tokens/s on the same batches: the store stops each pass at
// its hook, so it costs less than a forward pass; and the same store
// reading its rows back from an activation cache.
func BenchmarkStoreVsForward(b *testing.B) {
	m := testmodel.New(b, models.Config{NLayers: 1, NHeads: 4, DModel: 128, DMLP: 512, NCtx: 64, DVocab: 4096, Seed: 1})
	src := func() data.Source {
		s, err := data.New(data.Config{Kind: data.KindRepeated, Seed: 1, Repeated: data.RepeatedConfig{Vocab: 4096, Len: 32, NoBOS: true}})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	const rows = 1 << 14
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			st, err := sae.NewStore(context.Background(), m, src(), -1, sae.StoreConfig{Hook: "blocks.0.mlp.hook_post", Buffer: rows})
			if err != nil {
				b.Fatal(err)
			}
			_ = st
		}
		b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("cached", func(b *testing.B) {
		// The same rows read back from an activation cache on disk
		// (written once, before the timer).
		cfg := sae.StoreConfig{Hook: "blocks.0.mlp.hook_post", Buffer: rows, Cache: sae.CacheConfig{Dir: b.TempDir() + "/cache", ShardRows: 4096}}
		if _, err := sae.NewStore(context.Background(), m, src(), -1, cfg); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			st, err := sae.NewStore(context.Background(), m, src(), -1, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if st.Tokens() != 0 {
				b.Fatalf("%d rows from the model", st.Tokens())
			}
		}
		b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("forward", func(b *testing.B) {
		s := src()
		bt := data.NewBatch(16, 63)
		for b.Loop() {
			for n := 0; n < rows; n += 16 * 64 {
				if err := s.Next(bt); err != nil {
					b.Fatal(err)
				}
				p, err := m.Forward(bt.Tokens, 16, 64, nil, &models.Options{NoGrad: true})
				if err != nil {
					b.Fatal(err)
				}
				p.Release()
			}
		}
		b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "tokens/s")
	})
}
