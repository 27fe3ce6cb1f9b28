package superposition

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/internal/seed"
)

func randomWeights(kind Kind, n, m int, key uint64) Weights {
	r := seed.New(key)
	l := newLayout(kind, n, m)
	p := make([]float64, l.size)
	for j := range p {
		p[j] = 0.6 * r.NormFloat64()
	}
	return l.weights(p)
}

// TestGradientsFiniteDifference checks the hand-written backward of every
// model (per-sample and batched) against central differences of Loss.
func TestGradientsFiniteDifference(t *testing.T) {
	for _, tc := range []struct {
		kind    Kind
		density float64
	}{{Linear, 1}, {ReLUOutput, 0.6}, {ReLUHidden, 0.6}, {AbsValue, 0.7}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			n, m, B := 6, 3, 16
			w := randomWeights(tc.kind, n, m, 7)
			dist := Distribution{Density: UniformDensity(n, tc.density), Signed: tc.kind == AbsValue}
			batch, err := dist.Sample(B, 11)
			if err != nil {
				t.Fatal(err)
			}
			imp := GeometricImportance(n, 0.8)
			l := newLayout(tc.kind, n, m)
			p, err := l.flat(w)
			if err != nil {
				t.Fatal(err)
			}
			g := make([]float64, l.size)
			wk := newWork(n, m)
			var loss float64
			for _, x := range batch {
				copy(wk.x, x)
				k := 0
				for i, v := range x {
					if v != 0 {
						wk.nz[k] = int32(i)
						k++
					}
				}
				loss += l.accumulate(p, g, imp, wk, k, 1/float64(B))
			}
			if want := Loss(tc.kind, w, imp, batch); math.Abs(loss/float64(B)-want) > 1e-9 {
				t.Fatalf("fused loss %v, reference %v", loss/float64(B), want)
			}
			const h = 1e-6
			for j := range p {
				pp := append([]float64(nil), p...)
				pp[j] += h
				lp := Loss(tc.kind, l.weights(pp), imp, batch)
				pp[j] -= 2 * h
				lm := Loss(tc.kind, l.weights(pp), imp, batch)
				num := (lp - lm) / (2 * h)
				if math.Abs(num-g[j]) > 1e-5*(1+math.Abs(num)) {
					t.Errorf("param %d: analytic %v, numeric %v", j, g[j], num)
				}
			}
			if tc.kind == AbsValue {
				return
			}
			// the batched (SIMD) path gives the same gradient
			bw := newBatchWork(n, m, B)
			for b, x := range batch {
				for i, v := range x {
					bw.X[i*bw.C+b] = v
				}
			}
			g2 := make([]float64, l.size)
			loss2 := l.chunkTied(p, g2, imp, bw, B, 1/float64(B))
			if math.Abs(loss2-loss) > 1e-9 {
				t.Errorf("batched loss %v, per-sample %v", loss2, loss)
			}
			for j := range g {
				if math.Abs(g[j]-g2[j]) > 1e-9 {
					t.Errorf("param %d: batched grad %v, per-sample %v", j, g2[j], g[j])
				}
			}
		})
	}
}

func TestTrainDeterministicAcrossThreads(t *testing.T) {
	ins := benchInstances(4, 6)
	var ws [][]Weights
	for _, th := range []int{1, 2, 3} {
		res, err := Train(context.Background(), Config{Kind: ReLUOutput, Features: 6, Hidden: 2, Steps: 50, Batch: 64, Threads: th}, ins, nil)
		if err != nil {
			t.Fatal(err)
		}
		var w []Weights
		for _, ir := range res.Instances {
			w = append(w, ir.Final)
		}
		ws = append(ws, w)
	}
	for th := 1; th < len(ws); th++ {
		for k := range ws[0] {
			for i := range ws[0][k].W {
				for j := range ws[0][k].W[i] {
					if ws[0][k].W[i][j] != ws[th][k].W[i][j] {
						t.Fatalf("instance %d differs between thread counts", k)
					}
				}
			}
		}
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	good := benchInstances(1, 4)
	for name, tc := range map[string]struct {
		cfg Config
		ins []Instance
	}{
		"kind":       {Config{Kind: "nope", Features: 4, Hidden: 2}, good},
		"shape":      {Config{Features: 0, Hidden: 2}, good},
		"importance": {Config{Features: 5, Hidden: 2}, good},
		"density":    {Config{Features: 4, Hidden: 2}, []Instance{{Data: Distribution{Density: []float64{1, 2, 0, 0}}, Importance: make([]float64, 4)}}},
		"sets":       {Config{Features: 4, Hidden: 2}, []Instance{{Data: Distribution{Density: UniformDensity(4, 1), Correlated: [][]int{{0, 1}}, Anticorrelated: [][]int{{1, 2}}}, Importance: make([]float64, 4)}}},
	} {
		if _, err := Train(ctx, tc.cfg, tc.ins, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cctx, Config{Features: 4, Hidden: 2, Steps: 1000}, good, nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestTrainWorkerPanic: a panic on one of Train's worker goroutines (here from the
// progress callback, which runs on them) comes back from Train as an error; before, it
// ended the process.
func TestTrainWorkerPanic(t *testing.T) {
	ins := benchInstances(4, 6)
	_, err := Train(context.Background(), Config{Kind: ReLUOutput, Features: 6, Hidden: 2, Steps: 5, Batch: 8, Threads: 2}, ins,
		func(done, total int) { panic("progress") })
	var p *parallel.Panic
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "panic: progress") {
		t.Fatalf("Train = %v, want the worker's panic as an error", err)
	}
}
