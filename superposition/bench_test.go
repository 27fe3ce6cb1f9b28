package superposition

import (
	"context"
	"testing"
)

func benchInstances(I, n int) []Instance {
	imp := GeometricImportance(n, 0.9)
	ins := make([]Instance, I)
	for i := range ins {
		s := 0.99 * float64(i) / float64(max(I-1, 1))
		ins[i] = Instance{Data: Distribution{Density: UniformDensity(n, 1-s)}, Importance: imp, Seed: uint64(i)}
	}
	return ins
}

func benchToy(b *testing.B, I, n, m int) {
	run, err := NewRun(Config{Kind: ReLUOutput, Features: n, Hidden: m, Steps: 1}, benchInstances(I, n))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if _, err := run.Steps(context.Background(), b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkToy16x20x5 is the workload `torch_ref.py toy --instances 16
// --features 20 --hidden 5 --batch 1024`.
func BenchmarkToy16x20x5(b *testing.B) { benchToy(b, 16, 20, 5) }

// BenchmarkToy20x200x20 is `torch_ref.py toy --instances 20 --features 200
// --hidden 20 --batch 1024`.
func BenchmarkToy20x200x20(b *testing.B) { benchToy(b, 20, 200, 20) }
