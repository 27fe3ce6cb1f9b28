package tensor

import "math"

// LogSumExp returns log Σ e^row[j], the normaliser of a softmax over row, in
// float64: the row is shifted by its maximum, so that neither large nor small
// logits overflow, and the exponentials (math.Exp) and their sum are float64,
// so the result is exact to float64 rounding. Analyses use it (log-probabilities,
// KL divergences between nearly equal rows, the probabilities a command
// prints); training's cross-entropy uses LogSumExpFast.
//
// An empty row gives -Inf (the log of an empty sum), a row whose entries are
// all -Inf gives -Inf, one holding +Inf gives +Inf, and any NaN gives NaN.
func LogSumExp(row []float32) float64 {
	m, ok := lseMax(row)
	if !ok {
		return m
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - m)
	}
	return m + math.Log(s)
}

// LogSumExpFast is LogSumExp with float32 exponentials from ExpShifted (in
// blocks on the stack) and their sum in float64. It is within 3e-7 of
// LogSumExp (two float32 units in the last place per exponential) and an
// order of magnitude faster (BenchmarkLogSumExp): it is the cross-entropy of training, where a float64
// math.Exp per logit was a fifth of a step. The special cases are
// LogSumExp's.
func LogSumExpFast(row []float32) float64 {
	m, ok := lseMax(row)
	if !ok {
		return m
	}
	maxv := float32(m)
	var buf [512]float32
	var s float64
	for x := row; len(x) > 0; {
		n := min(len(x), len(buf))
		ExpShifted(buf[:n], x[:n], maxv)
		for _, e := range buf[:n] {
			s += float64(e)
		}
		x = x[n:]
	}
	return m + math.Log(s)
}

// lseMax returns the maximum of row and true, or, when the maximum is
// infinite (an empty row, all -Inf, or a +Inf), the log-sum-exp itself and
// false: e^(row-max) would be e^(Inf-Inf). A NaN is never the maximum (it
// compares false), so it is looked for there.
func lseMax(row []float32) (float64, bool) {
	maxv := float32(math.Inf(-1))
	for _, x := range row {
		if x > maxv {
			maxv = x
		}
	}
	m := float64(maxv)
	if !math.IsInf(m, 0) {
		return m, true
	}
	for _, x := range row {
		if x != x {
			return math.NaN(), false
		}
	}
	return m, false
}

// LogSoftmax returns the log-probabilities of the softmax over row in float64,
// row[j] − LogSumExp(row), in a new slice.
func LogSoftmax(row []float32) []float64 {
	lse := LogSumExp(row)
	out := make([]float64, len(row))
	for i, x := range row {
		out[i] = float64(x) - lse
	}
	return out
}
