package probes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestProbeGradientFiniteDifferences checks the analytic gradient of the
// penalized cross-entropy against central differences.
func TestProbeGradientFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d, K, l2 = 7, 4, 3, 0.3
	X, W, B := make([]float64, n*d), make([]float64, d*K), make([]float64, K)
	y := make([]int, n)
	for i := range X {
		X[i] = rng.NormFloat64()
	}
	for i := range W {
		W[i] = rng.NormFloat64()
	}
	for i := range B {
		B[i] = rng.NormFloat64()
	}
	for i := range y {
		y[i] = rng.IntN(K)
	}
	_, gW, gB := probeLossGrad(X, y, W, B, d, K, l2)
	const h = 1e-6
	check := func(name string, p []float64, g []float64) {
		for i := range p {
			old := p[i]
			p[i] = old + h
			lp, _, _ := probeLossGrad(X, y, W, B, d, K, l2)
			p[i] = old - h
			lm, _, _ := probeLossGrad(X, y, W, B, d, K, l2)
			p[i] = old
			if fd := (lp - lm) / (2 * h); math.Abs(fd-g[i]) > 1e-7 {
				t.Errorf("%s[%d]: analytic %v, finite difference %v", name, i, g[i], fd)
			}
		}
	}
	check("W", W, gW)
	check("B", B, gB)
}

// blobs draws n rows of d features around one of K well-separated centres.
func blobs(n, d, K int, sep float64, seed uint64) (*tensor.Tensor, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float64, K)
	for k := range centres {
		centres[k] = make([]float64, d)
		for j := range d {
			centres[k][j] = sep * rng.NormFloat64()
		}
	}
	X := tensor.New(n, d)
	y := make([]int, n)
	for i := range n {
		y[i] = rng.IntN(K)
		for j := range d {
			X.Data[i*d+j] = float32(centres[y[i]][j] + rng.NormFloat64())
		}
	}
	return X, y
}

func TestLinearProbe(t *testing.T) {
	for _, tc := range []struct {
		name           string
		K              int
		sep            float64
		random         bool
		minTest, maxTe float64
	}{
		{"separable, 2 classes", 2, 4, false, 1, 1},
		{"separable, 4 classes", 4, 4, false, 0.99, 1},
		// Random labels: the probe can memorize the training rows
		// but the held-out accuracy stays at chance (1/2 ± 3σ, σ ≈ 0.03).
		{"random labels", 2, 0, true, 0.4, 0.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			X, y := blobs(600, 32, tc.K, tc.sep, 3)
			if tc.random {
				rng := rand.New(rand.NewPCG(9, 9))
				for i := range y {
					y[i] = rng.IntN(tc.K)
				}
			}
			p, fit, err := TrainLinearProbe(X, y, LinearProbeOptions{TestFraction: 0.5, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("train %.3f test %.3f chance %.3f loss %.3f/%.3f", fit.TrainAccuracy, fit.TestAccuracy, fit.Chance, fit.TrainLoss, fit.TestLoss)
			if fit.TestAccuracy < tc.minTest || fit.TestAccuracy > tc.maxTe {
				t.Errorf("test accuracy %v, want in [%v, %v]", fit.TestAccuracy, tc.minTest, tc.maxTe)
			}
			if fit.NTrain != 300 || fit.NTest != 300 || len(fit.TestRows) != 300 || p.Classes != tc.K {
				t.Errorf("split %d/%d, classes %d", fit.NTrain, fit.NTest, p.Classes)
			}
			if tc.random && fit.TrainAccuracy < fit.TestAccuracy+0.1 {
				t.Errorf("random labels: train accuracy %v should exceed test %v (memorized)", fit.TrainAccuracy, fit.TestAccuracy)
			}
			// Predict agrees with the fit's test accuracy.
			Xte := tensor.New(fit.NTest, 32)
			yte := make([]int, fit.NTest)
			for i, r := range fit.TestRows {
				copy(Xte.Data[i*32:(i+1)*32], X.Data[r*32:(r+1)*32])
				yte[i] = y[r]
			}
			acc, err := p.Accuracy(Xte, yte)
			if err != nil || math.Abs(acc-fit.TestAccuracy) > 1e-12 {
				t.Errorf("Accuracy %v (%v), fit says %v", acc, err, fit.TestAccuracy)
			}
		})
	}
}

func TestLinearProbeSeededSplit(t *testing.T) {
	X, y := blobs(50, 3, 2, 2, 1)
	_, a, _ := TrainLinearProbe(X, y, LinearProbeOptions{Seed: 5, Steps: 10})
	_, b, _ := TrainLinearProbe(X, y, LinearProbeOptions{Seed: 5, Steps: 10})
	_, c, _ := TrainLinearProbe(X, y, LinearProbeOptions{Seed: 6, Steps: 10})
	if a.TestLoss != b.TestLoss || a.TestRows[0] != b.TestRows[0] {
		t.Error("same seed, different fits")
	}
	if a.NTest != 10 || equalInts(a.TestRows, c.TestRows) {
		t.Errorf("split of %d rows; seeds 5 and 6 hold out the same rows", a.NTest)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLinearProbeErrors(t *testing.T) {
	X, y := blobs(10, 3, 2, 2, 1)
	nan := X.Clone()
	nan.Data[4] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		X    *tensor.Tensor
		y    []int
		o    LinearProbeOptions
	}{
		{"nil", nil, y, LinearProbeOptions{}},
		{"rank", tensor.New(10), y, LinearProbeOptions{}},
		{"labels", X, y[:9], LinearProbeOptions{}},
		{"negative label", X, append([]int{-1}, y[1:]...), LinearProbeOptions{}},
		{"label past classes", X, y, LinearProbeOptions{Classes: 1}},
		{"one class", X, make([]int, 10), LinearProbeOptions{}},
		{"test fraction", X, y, LinearProbeOptions{TestFraction: 1}},
		{"NaN", nan, y, LinearProbeOptions{}},
	} {
		if _, _, err := TrainLinearProbe(tc.X, tc.y, tc.o); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	p, _, err := TrainLinearProbe(X, y, LinearProbeOptions{Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Predict(tensor.New(2, 4)); err == nil {
		t.Error("Predict with 4 features on a 3-feature probe: no error")
	}
}
