package superposition

func axpyGo(a float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func dotGo(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+3 < len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return s0 + s1 + s2 + s3
}

// residualGo is the output stage of the tied models over a chunk: with
// out = max(pre,0) (or pre when !relu) and d = out - x, it writes
// g = coef*d where pre > 0 (everywhere when !relu) and 0 elsewhere, and
// returns sum d^2, sum g and whether any g is non-zero.
func residualGo(pre, x, g []float64, coef float64, relu bool) (loss, gsum float64, nonzero bool) {
	x = x[:len(pre)]
	g = g[:len(pre)]
	for b, p := range pre {
		xv := x[b]
		if relu && p <= 0 {
			loss += xv * xv
			g[b] = 0
			continue
		}
		d := p - xv
		loss += d * d
		gv := coef * d
		g[b] = gv
		gsum += gv
		nonzero = true
	}
	return loss, gsum, nonzero
}
