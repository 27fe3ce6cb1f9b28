package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// logSumExp64 is the reference: everything in float64 with math.Exp.
func logSumExp64(row []float32) float64 {
	m := math.Inf(-1)
	for _, x := range row {
		m = math.Max(m, float64(x))
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - m)
	}
	return m + math.Log(s)
}

func TestLogSumExp(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	rng := rand.New(rand.NewPCG(5, 6))
	long := make([]float32, 5000) // several 512-element blocks and a tail
	for i := range long {
		long[i] = float32(rng.NormFloat64() * 10)
	}
	for _, tc := range []struct {
		name string
		row  []float32
		want float64 // NaN: want NaN
	}{
		{"empty", nil, math.Inf(-1)},
		{"one", []float32{3}, 3},
		{"two equal", []float32{0, 0}, math.Ln2},
		{"large", []float32{1e4, 1e4}, 1e4 + math.Ln2},
		{"very large", []float32{3e38, 1}, float64(float32(3e38))},
		{"small", []float32{-1e4, -1e4, -1e4, -1e4}, -1e4 + 2*math.Ln2},
		{"very small", []float32{-3e38, -3e38}, float64(float32(-3e38)) + math.Ln2},
		{"spread", []float32{100, 0, -100}, 100 + math.Log1p(math.Exp(-100))},
		{"-Inf entries", []float32{-inf, 1, -inf, 1}, 1 + math.Ln2},
		{"all -Inf", []float32{-inf, -inf}, math.Inf(-1)},
		{"+Inf", []float32{1, inf, -inf}, math.Inf(1)},
		{"NaN", []float32{1, nan, 2}, math.NaN()},
		{"NaN beside -Inf", []float32{-inf, nan}, math.NaN()},
		{"NaN beside +Inf", []float32{inf, nan}, math.NaN()},
		{"long", long, logSumExp64(long)},
		{"long shifted", shifted(long, 1000), logSumExp64(shifted(long, 1000))},
	} {
		for _, path := range []struct {
			name string
			asm  bool
		}{{"vector", true}, {"scalar", false}} {
			t.Run(tc.name+"/"+path.name, func(t *testing.T) {
				if path.asm && !hasExpAsm {
					t.Skip("no AVX2+FMA on this CPU")
				}
				saved := hasExpAsm
				hasExpAsm = path.asm
				defer func() { hasExpAsm = saved }()
				for _, f := range []struct {
					name string
					lse  func([]float32) float64
					tol  float64
				}{{"LogSumExp", LogSumExp, 1e-13}, {"LogSumExpFast", LogSumExpFast, 3e-7}} {
					got := f.lse(tc.row)
					switch {
					case math.IsNaN(tc.want):
						if !math.IsNaN(got) {
							t.Fatalf("%s: got %v, want NaN", f.name, got)
						}
					case math.IsInf(tc.want, 0):
						if got != tc.want {
							t.Fatalf("%s: got %v, want %v", f.name, got, tc.want)
						}
					default:
						if d := math.Abs(got - tc.want); d > f.tol*math.Max(1, math.Abs(tc.want)) {
							t.Fatalf("%s: got %.17g, want %.17g (off by %.3g)", f.name, got, tc.want, d)
						}
					}
				}
				got := LogSumExp(tc.row)
				lp := LogSoftmax(tc.row)
				if len(lp) != len(tc.row) {
					t.Fatalf("LogSoftmax: %d values for %d logits", len(lp), len(tc.row))
				}
				for i, x := range tc.row {
					if w := float64(x) - got; lp[i] != w && !(math.IsNaN(lp[i]) && math.IsNaN(w)) {
						t.Fatalf("LogSoftmax[%d] = %v, want %v", i, lp[i], w)
					}
				}
			})
		}
	}
}

func shifted(x []float32, by float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v + by
	}
	return out
}

// The probabilities LogSoftmax gives sum to 1.
func TestLogSoftmaxNormalised(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 7, 8, 9, 511, 512, 513, 4096} {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(rng.NormFloat64() * 5)
		}
		var s float64
		for _, l := range LogSoftmax(row) {
			s += math.Exp(l)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("n=%d: probabilities sum to %.9f", n, s)
		}
	}
}

func BenchmarkLogSumExp(b *testing.B) {
	row := make([]float32, 4096)
	for i := range row {
		row[i] = float32(i%100) * -0.1
	}
	for _, f := range []struct {
		name string
		lse  func([]float32) float64
	}{{"exact", LogSumExp}, {"fast", LogSumExpFast}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(row)))
			for b.Loop() {
				f.lse(row)
			}
		})
	}
}
