package sae

import (
	"github.com/mechinterp/mechinterp/tensor"
)

// encoder encodes batches of rows with one matrix multiply (float32, the
// module's Gemm seam): pre = X W_e^T + (b_e - W_e b_d), then σ per row.
type encoder struct {
	s    *SAE
	we   []float32 // [F, D]
	wd   []float32 // [F, D]
	bias []float32 // [F]: b_e - W_e b_d
	act  activation
	pre  []float32
	p64  []float64
	f64  []float64
}

func newEncoder(s *SAE) (*encoder, error) {
	act, err := s.activation()
	if err != nil {
		return nil, err
	}
	e := &encoder{s: s, act: act, we: make([]float32, s.F*s.D), wd: make([]float32, s.F*s.D), bias: make([]float32, s.F),
		p64: make([]float64, s.F), f64: make([]float64, s.F)}
	for k := 0; k < s.F; k++ {
		b := s.Be[k]
		for j := 0; j < s.D; j++ {
			e.we[k*s.D+j] = float32(s.We[k][j])
			e.wd[k*s.D+j] = float32(s.Wd[k][j])
			b -= s.We[k][j] * s.Bd[j]
		}
		e.bias[k] = float32(b)
	}
	return e, nil
}

// encode returns the feature activations [n, F] of rows x [n, D], in a
// buffer reused by the next call.
func (e *encoder) encode(x []float32, n int) []float32 {
	F, D := e.s.F, e.s.D
	if cap(e.pre) < n*F {
		e.pre = make([]float32, n*F)
	}
	pre := e.pre[:n*F]
	for i := 0; i < n; i++ {
		copy(pre[i*F:(i+1)*F], e.bias)
	}
	tensor.Gemm(false, true, n, F, D, 1, x, D, e.we, D, 1, pre, F)
	for i := 0; i < n; i++ {
		row := pre[i*F : (i+1)*F]
		for k, v := range row {
			e.p64[k] = float64(v)
		}
		e.act.forward(e.p64, e.f64)
		for k, v := range e.f64 {
			row[k] = float32(v)
		}
	}
	return pre
}

// decode writes x_hat = W_d f + b_d of one row of activations f into dst.
func (e *encoder) decode(f []float32, dst []float32) {
	D := e.s.D
	for j := range dst {
		dst[j] = float32(e.s.Bd[j])
	}
	for k, v := range f {
		if v != 0 {
			w := e.wd[k*D : (k+1)*D]
			for j := range dst {
				dst[j] += v * w[j]
			}
		}
	}
}
