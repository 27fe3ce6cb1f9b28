package sae

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkTrain times SAE training steps (batch 256) on Gaussian data for a
// toy-sized and a transformer-sized activation width.
func BenchmarkTrain(b *testing.B) {
	for _, sz := range []struct{ d, f int }{{4, 16}, {64, 256}} {
		b.Run(fmt.Sprintf("d%d_F%d", sz.d, sz.f), func(b *testing.B) {
			data := normalRows(4096, sz.d, 1)
			const steps = 20
			for b.Loop() {
				if _, err := Train(context.Background(), data, sz.d, Config{DictSize: sz.f, Steps: steps, EvalRows: 1}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*steps)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}

// BenchmarkStep times one training step (forward, backward, Adam) at the
// size of `mechinterp bench sae`: d 512, 4096 latents, batch 4096; ReLU
// fresh (half the latents active) and with b_e starting at -2.15 (64 of
// 4096 active, as `bench sae --l0 64`), and TopK.
func BenchmarkStep(b *testing.B) {
	for _, c := range []struct {
		name string
		arch Architecture
		bias float64
	}{{"relu", ReLU, 0}, {"relu_l0_64", ReLU, -2.154}, {"topk", TopK, 0}} {
		b.Run(c.name, func(b *testing.B) {
			data := normalRows(4096, 512, 1)
			cfg := Config{Architecture: c.arch, DictSize: 4096, Batch: 4096, Steps: 1, L1: 5, LR: 4e-4, EvalRows: 1}
			for b.Loop() {
				if _, err := TimeSteps(context.Background(), data, 512, cfg, c.bias); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
