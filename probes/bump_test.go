package probes

import (
	"math"
	"math/rand/v2"
	"testing"
)

// curve samples f at steps 1..n with Gaussian noise of the given size.
func curve(n int, noise float64, seed uint64, f func(s float64) float64) ([]int, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	steps, loss := make([]int, n), make([]float64, n)
	for i := range n {
		steps[i] = i + 1
		loss[i] = f(float64(i+1)) + noise*rng.NormFloat64()
	}
	return steps, loss
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestFindBump(t *testing.T) {
	convex := func(s float64) float64 { return 3 + 1.8*math.Pow(1+s/40, -0.7) }
	withBump := func(at float64) func(float64) float64 {
		// The decay flattens onto a plateau 0.8 above the final loss,
		// which falls away around step `at` (docs/REFERENCE.md: 4.39 -> 3.60).
		return func(s float64) float64 { return 3.6 + 0.8*sigmoid(-(s-at)/40) + 1.2*math.Exp(-s/80) }
	}
	warmup := func(f func(float64) float64) func(float64) float64 {
		// A linear warmup: the loss stays near ln(128) for the first steps.
		return func(s float64) float64 { return f(max(s-20, 1)) }
	}
	for _, tc := range []struct {
		name  string
		f     func(float64) float64
		noise float64
		found bool
		at    int
	}{
		{"convex", convex, 0.05, false, 0},
		{"convex, noiseless", convex, 0, false, 0},
		{"bump at 1000", withBump(1000), 0.05, true, 1000},
		{"bump at 600, noiseless", withBump(600), 0, true, 600},
		{"bump at 1500, noisy", withBump(1500), 0.1, true, 1500},
		{"warmup then bump at 900", warmup(withBump(880)), 0.05, true, 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 10; seed++ {
				steps, loss := curve(2000, tc.noise, seed, tc.f)
				b := FindBump(steps, loss, 0)
				if b.Found != tc.found {
					t.Fatalf("seed %d: found %v (%+v), want %v", seed, b.Found, b, tc.found)
				}
				if !tc.found {
					continue
				}
				if math.Abs(float64(b.Step-tc.at)) > 40 {
					t.Errorf("seed %d: bump at step %d, want %d ± 40 (%+v)", seed, b.Step, tc.at, b)
				}
				if !(b.Start < b.Step && b.Step < b.End) || b.LossStart <= b.LossEnd || b.Height <= b.Tolerance {
					t.Errorf("seed %d: stretch %+v", seed, b)
				}
			}
		})
	}
	// Sparse points (every 50 steps, as checkpoints or held-out losses).
	steps, loss := curve(2000, 0.02, 4, withBump(1000))
	var s2 []int
	var l2 []float64
	for i := 0; i < len(steps); i += 50 {
		s2, l2 = append(s2, steps[i]), append(l2, loss[i])
	}
	if b := FindBump(s2, l2, 3); !b.Found || math.Abs(float64(b.Step-1000)) > 100 {
		t.Errorf("sparse curve: %+v", b)
	}
	if b := FindBump([]int{1, 2, 3}, []float64{3, 2, 1}, 0); b.Found {
		t.Error("3 points: found a bump")
	}
	if b := FindBump([]int{1, 2, 3, 4, 5, 6}, []float64{1, math.NaN(), 1, 1, 1, 1}, 1); b.Found {
		t.Error("flat curve: found a bump")
	}
}

func TestSmooth(t *testing.T) {
	got := Smooth([]float64{0, 3, 6, 9, 3}, 3)
	for i, want := range []float64{0, 3, 6, 6, 3} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("Smooth[%d] = %v, want %v", i, got[i], want)
		}
	}
}
