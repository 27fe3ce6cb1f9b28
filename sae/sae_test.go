package sae

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
)

func normalRows(n, d int, s uint64) []float32 {
	r := seed.New(s)
	data := make([]float32, n*d)
	for j := range data {
		data[j] = float32(r.NormFloat64())
	}
	return data
}

// TestFiniteDifference checks the hand-written backward of every
// architecture against central differences of the loss.
func TestFiniteDifference(t *testing.T) {
	for _, arch := range []Architecture{ReLU, TopK} {
		t.Run(string(arch), func(t *testing.T) {
			d, F := 4, 6
			act, err := activationOf(arch, 3)
			if err != nil {
				t.Fatal(err)
			}
			s := newState(d, F, arch, act)
			r := seed.New(5)
			for j := range s.p {
				s.p[j] = 0.5 * r.NormFloat64()
			}
			xs := make([][]float64, 8)
			for i := range xs {
				xs[i] = make([]float64, d)
				for j := range xs[i] {
					xs[i][j] = r.NormFloat64()
				}
			}
			const l1 = 0.3
			lossAt := func() float64 {
				var tot float64
				for _, x := range xs {
					m, l, _ := s.accumulate(x, l1, 0)
					tot += m + l
				}
				return tot / float64(len(xs))
			}
			clear(s.g)
			for _, x := range xs {
				s.accumulate(x, l1, 1/float64(len(xs)))
			}
			g := append([]float64(nil), s.g...)
			const h = 1e-6
			for j := range s.p {
				old := s.p[j]
				s.p[j] = old + h
				lp := lossAt()
				s.p[j] = old - h
				lm := lossAt()
				s.p[j] = old
				num := (lp - lm) / (2 * h)
				if math.Abs(num-g[j]) > 1e-5*(1+math.Abs(num)) {
					t.Errorf("param %d: analytic %v, numeric %v", j, g[j], num)
				}
			}
		})
	}
}

// TestTrainKeepsUnitDecoderAndMatchesEncode trains briefly and checks the
// decoder constraint, and that the exported Encode/Decode reproduce the
// reconstruction error the evaluation measured.
func TestTrainKeepsUnitDecoderAndMatchesEncode(t *testing.T) {
	data := normalRows(200, 3, 1)
	res, err := Train(context.Background(), data, 3, Config{DictSize: 5, Steps: 50, Batch: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, a := range res.Model.Wd {
		if n := math.Sqrt(tensor.Dot64(a, a)); math.Abs(n-1) > 1e-9 {
			t.Errorf("atom %d has norm %v", k, n)
		}
	}
	if res.Config.Architecture != ReLU || res.Model.Architecture != ReLU {
		t.Errorf("architecture %q, model %q, want %q", res.Config.Architecture, res.Model.Architecture, ReLU)
	}
	var sse float64
	for i := 0; i < 200; i++ {
		x := make([]float64, 3)
		for j := range x {
			x[j] = float64(data[i*3+j])
		}
		xh := res.Model.Decode(res.Model.Encode(x))
		for j := range x {
			sse += (xh[j] - x[j]) * (xh[j] - x[j])
		}
	}
	if got := sse / 200; math.Abs(got-res.FinalMSE) > 1e-9 {
		t.Errorf("Encode/Decode MSE %v, evaluation's %v", got, res.FinalMSE)
	}
	if len(res.LossSteps) == 0 || len(res.Loss) != len(res.LossSteps) || len(res.MSE) != len(res.LossSteps) {
		t.Errorf("curves of lengths %d, %d, %d", len(res.LossSteps), len(res.Loss), len(res.MSE))
	}
}

// TestTrainDeterministic checks that one seed gives one SAE and another
// seed a different one.
func TestTrainDeterministic(t *testing.T) {
	data := normalRows(100, 4, 2)
	train := func(s uint64) *Result {
		res, err := Train(context.Background(), data, 4, Config{DictSize: 6, Steps: 20, Batch: 8, Seed: s}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := train(1), train(1), train(2)
	if a.FinalMSE != b.FinalMSE || a.Model.Wd[0][0] != b.Model.Wd[0][0] {
		t.Error("the same seed gave different SAEs")
	}
	if a.Model.Wd[0][0] == c.Model.Wd[0][0] {
		t.Error("seeds 1 and 2 gave the same initial dictionary")
	}
}

// TestTrainRecoversFeatures trains on sparse non-negative combinations of
// 12 known directions in 6 dimensions (more features than dimensions, as in
// superposition) and expects every direction to be found; seeds 1-3 all
// reach MMCS 0.98 with these settings.
func TestTrainRecoversFeatures(t *testing.T) {
	const d, nf, rowsN = 6, 12, 20000
	r := seed.New(seed.Derive(3, 0, "test/features"))
	truth := make([][]float64, nf)
	for g := range truth {
		truth[g] = make([]float64, d)
		for j := range truth[g] {
			truth[g][j] = r.NormFloat64()
		}
		n := math.Sqrt(tensor.Dot64(truth[g], truth[g]))
		for j := range truth[g] {
			truth[g][j] /= n
		}
	}
	data := make([]float64, 0, rowsN*d)
	row := make([]float64, d)
	for i := 0; i < rowsN; i++ {
		clear(row)
		for g := range truth {
			if r.Float64() < 0.05 {
				tensor.Axpy64(r.Float64(), truth[g], row)
			}
		}
		data = append(data, row...)
	}
	for _, cfg := range []Config{
		{DictSize: 24, L1: 0.3, Steps: 6000, Batch: 64, Seed: 1},
		{Architecture: TopK, K: 2, DictSize: 24, Steps: 6000, Batch: 64, Seed: 1},
	} {
		res, err := Train(context.Background(), data, d, cfg, truth)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: MMCS %.3f L0 %.2f FVE %.3f dead %d", res.Config.Architecture, res.MMCS, res.L0, res.FVE, res.Dead)
		if res.MMCS < 0.95 {
			t.Errorf("%s: MMCS %.3f, want >= 0.95 (best cosines %.2f)", res.Config.Architecture, res.MMCS, res.BestCos)
		}
		if res.FVE < 0.8 {
			t.Errorf("%s: FVE %.3f, want >= 0.8", res.Config.Architecture, res.FVE)
		}
		if cfg.Architecture == TopK && res.L0 > float64(cfg.K) {
			t.Errorf("topk: L0 %.2f above k %d", res.L0, cfg.K)
		}
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	data := normalRows(10, 3, 1)
	for _, tc := range []struct {
		name  string
		data  []float32
		d     int
		cfg   Config
		truth [][]float64
	}{
		{"ragged", data[:7], 3, Config{}, nil},
		{"empty", nil, 3, Config{}, nil},
		{"zero width", data, 0, Config{}, nil},
		{"architecture", data, 3, Config{Architecture: "jumprelu"}, nil},
		{"k above width", data, 3, Config{Architecture: TopK, DictSize: 4, K: 5}, nil},
		{"lr", data, 3, Config{LR: -1}, nil},
		{"l1", data, 3, Config{L1: math.NaN()}, nil},
		{"truth", data, 3, Config{Steps: 1}, [][]float64{{1, 0}}},
	} {
		if _, err := Train(ctx, tc.data, tc.d, tc.cfg, tc.truth); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cctx, data, 3, Config{Steps: 200}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	nan := normalRows(10, 3, 1)
	nan[4] = float32(math.Inf(1))
	if _, err := Train(ctx, nan, 3, Config{Steps: 5}, nil); !errors.Is(err, ErrNaN) {
		t.Errorf("infinite data: error %v, want ErrNaN", err)
	}
}

// TestTopKKeepsK checks that TopK keeps exactly k features when k
// pre-activations are positive, ties included.
func TestTopKKeepsK(t *testing.T) {
	a, _ := activationOf(TopK, 3)
	for _, pre := range [][]float64{
		{0.5, 2, -1, 3, 1, 0.1},
		{1, 1, 1, 1, 1, 1},
		{-1, -2, 4, -3, -4, -5},
	} {
		f := make([]float64, len(pre))
		a.forward(pre, f)
		n, pos := 0, 0
		for i, v := range f {
			if v != 0 {
				n++
			}
			if pre[i] > 0 {
				pos++
			}
		}
		if want := min(3, pos); n != want {
			t.Errorf("pre %v: %d active (%v), want %d", pre, n, f, want)
		}
	}
}

func TestMMCS(t *testing.T) {
	for _, tc := range []struct {
		name         string
		truth, atoms [][]float64
		want         float64
	}{
		{"exact", [][]float64{{1, 0}, {0, 1}}, [][]float64{{0, 2}, {3, 0}}, 1},
		{"one missing", [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 0}}, 0.5},
		{"45 degrees", [][]float64{{1, 0}}, [][]float64{{1, 1}}, math.Sqrt(0.5)},
		{"no atoms", [][]float64{{1, 0}}, nil, 0},
		{"no truth", nil, [][]float64{{1, 0}}, 0},
	} {
		if got, _ := MMCS(tc.truth, tc.atoms); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: MMCS = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDensityHistogram(t *testing.T) {
	h := DensityHistogram([]float64{0, 1, 0.1, 0.01, 1e-9}, 6, -6)
	if h.Never != 1 || h.Counts[0] != 1 || h.Counts[5] != 2 || h.Counts[4] != 1 {
		t.Errorf("histogram %+v", h)
	}
	if len(h.Edges) != 7 || h.Edges[0] != -6 || h.Edges[6] != 0 {
		t.Errorf("edges %v", h.Edges)
	}
}

// Dead, Density and the histogram's Never bar come from the same window (the
// last DeadWindow training samples), so they agree feature by feature; a
// large L1 coefficient kills features, a small one none.
func TestDeadIsHistogramNever(t *testing.T) {
	data := normalRows(2000, 4, 3)
	for _, tc := range []struct {
		l1       float64
		wantDead bool
	}{{1e-4, false}, {30, true}} {
		res, err := Train(context.Background(), data, 4, Config{DictSize: 16, L1: tc.l1, Steps: 300, Batch: 32, LR: 0.01, DeadWindow: 640, Seed: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		zero := 0
		for _, p := range res.Density {
			if p == 0 {
				zero++
			}
			if p*640 != math.Round(p*640) {
				t.Errorf("λ %v: density %v is not a count over the 640-sample window", tc.l1, p)
			}
		}
		total := res.Histogram.Never
		for _, c := range res.Histogram.Counts {
			total += c
		}
		t.Logf("λ %v: dead %d, never %d, density 0 for %d", tc.l1, res.Dead, res.Histogram.Never, zero)
		if res.Dead != res.Histogram.Never || res.Dead != zero || total != 16 {
			t.Errorf("λ %v: dead %d, histogram never %d, zero density %d, histogram total %d of 16", tc.l1, res.Dead, res.Histogram.Never, zero, total)
		}
		if (res.Dead > 0) != tc.wantDead {
			t.Errorf("λ %v: %d dead, want dead features: %v", tc.l1, res.Dead, tc.wantDead)
		}
	}
}

// TestBatchedEncoderGradient checks that the float32 batched encoder that
// training uses on large SAEs gives the float64 path's gradient.
func TestBatchedEncoderGradient(t *testing.T) {
	const d, F, n = 64, 1024, 8
	for _, arch := range []Architecture{ReLU, TopK} {
		act, _ := activationOf(arch, 16)
		s := newState(d, F, arch, act)
		s.init(1, make([]float64, d))
		r := seed.New(9)
		for j := s.be; j < s.wd; j++ {
			s.p[j] = 0.1 * r.NormFloat64()
		}
		for j := s.bd; j < len(s.p); j++ {
			s.p[j] = 0.1 * r.NormFloat64()
		}
		xs := make([]float64, n*d)
		for j := range xs {
			xs[j] = r.NormFloat64()
		}
		clear(s.g)
		for i := 0; i < n; i++ {
			s.accumulate(xs[i*d:(i+1)*d], 0.01, 1.0/n)
		}
		want := append([]float64(nil), s.g...)
		clear(s.g)
		pre := s.batchPre(xs, n)
		for i := 0; i < n; i++ {
			s.accumulatePre(xs[i*d:(i+1)*d], pre[i*F:(i+1)*F], 0.01, 1.0/n)
		}
		var diff, norm float64
		for j := range want {
			diff += (s.g[j] - want[j]) * (s.g[j] - want[j])
			norm += want[j] * want[j]
		}
		if rel := math.Sqrt(diff / norm); rel > 1e-4 {
			t.Errorf("%s: batched gradient differs by %.2g (relative)", arch, rel)
		}
	}
}
