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
// size of `mechinterp bench sae`: d 512, 4096 latents, batch 4096.
func BenchmarkStep(b *testing.B) {
	for _, arch := range []Architecture{ReLU, TopK} {
		b.Run(string(arch), func(b *testing.B) {
			data := normalRows(4096, 512, 1)
			cfg := Config{Architecture: arch, DictSize: 4096, Batch: 4096, Steps: 1, L1: 5, LR: 4e-4, EvalRows: 1}
			for b.Loop() {
				if _, err := TimeSteps(context.Background(), data, 512, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
