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
