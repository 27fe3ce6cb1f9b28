package sae

import (
	"math"

	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

// state is an SAE being trained: flat parameters We [F*D], Be [F], Wd [F*D]
// (atom-major), Bd [D], their gradient, the optimizer and one row's scratch.
type state struct {
	d, f           int
	act            activation
	arch           Architecture
	k              int // TopK's k
	we, be, wd, bd int // offsets into p and g
	p, g           []float64
	opt            *train.AdamW[float64]
	xb, r          []float64 // [d]: x - b_d, then x_hat - x
	pre, fa, up    []float64 // [f]: pre-activations, activations, their gradient
	// The batched encoder's float32 scratch (batchPre).
	we32, bias32, x32, preB []float32
}

// adam are the hyperparameters of the SAE's optimizer: Adam with PyTorch's
// defaults and no weight decay.
var adam = train.Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}

func newState(d, f int, arch Architecture, act activation) *state {
	s := &state{d: d, f: f, act: act, arch: arch}
	s.we, s.be, s.wd, s.bd = 0, f*d, f*d+f, 2*f*d+f
	size := 2*f*d + f + d
	s.p, s.g = make([]float64, size), make([]float64, size)
	s.opt = train.NewAdamWMasked[float64](size, adam, nil)
	s.xb, s.r = make([]float64, d), make([]float64, d)
	s.pre, s.fa, s.up = make([]float64, f), make([]float64, f), make([]float64, f)
	return s
}

// accumulate runs one row x forward and, when scale > 0, adds scale times
// the gradient of its loss ||x - x_hat||^2 + lambda*penalty(f) into s.g. It
// returns the squared error, the weighted penalty and the number of active
// features; s.fa holds the row's activations afterwards.
func (s *state) accumulate(x []float64, lambda, scale float64) (sse, penalty float64, active int) {
	return s.accumulatePre(x, nil, lambda, scale)
}

// accumulatePre is accumulate with the row's pre-activations given (nil:
// computed here in float64).
func (s *state) accumulatePre(x []float64, pre []float32, lambda, scale float64) (sse, penalty float64, active int) {
	d, F := s.d, s.f
	p := s.p
	We, Be, Wd, Bd := p[s.we:s.we+F*d], p[s.be:s.be+F], p[s.wd:s.wd+F*d], p[s.bd:s.bd+d]
	xb := s.xb
	for j := range xb {
		xb[j] = x[j] - Bd[j]
	}
	if pre == nil {
		for k := range s.pre {
			s.pre[k] = tensor.Dot64(We[k*d:k*d+d], xb) + Be[k]
		}
	} else {
		for k, v := range pre {
			s.pre[k] = float64(v)
		}
	}
	penalty = lambda * s.act.forward(s.pre, s.fa)
	r := s.r
	copy(r, Bd)
	for k, a := range s.fa {
		if a != 0 {
			tensor.Axpy64(a, Wd[k*d:k*d+d], r)
			active++
		}
	}
	for j := range r {
		r[j] -= x[j] // r = x_hat - x
		sse += r[j] * r[j]
	}
	if scale > 0 {
		s.backward(scale, lambda)
	}
	return sse, penalty, active
}

// backward adds scale times the gradient of the row whose forward pass
// accumulate just ran; d loss / d x_hat = 2r.
func (s *state) backward(scale, lambda float64) {
	d, F := s.d, s.f
	p, g := s.p, s.g
	We, Wd := p[s.we:s.we+F*d], p[s.wd:s.wd+F*d]
	gWe, gBe, gWd, gBd := g[s.we:s.we+F*d], g[s.be:s.be+F], g[s.wd:s.wd+F*d], g[s.bd:s.bd+d]
	r := s.r
	for j := range r {
		gBd[j] += 2 * scale * r[j]
	}
	for k, a := range s.fa {
		s.up[k] = 0
		if a != 0 {
			tensor.Axpy64(2*scale*a, r, gWd[k*d:k*d+d])
			s.up[k] = 2 * scale * tensor.Dot64(Wd[k*d:k*d+d], r)
		}
	}
	s.act.backward(s.pre, s.fa, s.up, scale*lambda)
	for k, df := range s.up {
		if df == 0 {
			continue
		}
		gBe[k] += df
		tensor.Axpy64(df, s.xb, gWe[k*d:k*d+d])
		tensor.Axpy64(-df, We[k*d:k*d+d], gBd)
	}
}

// step removes from each decoder column's gradient its component along the
// column, takes an Adam step, then renormalizes the columns (Bricken et al.
// 2023, "Autoencoder" appendix).
func (s *state) step(lr float64) {
	d, F := s.d, s.f
	Wd, gWd := s.p[s.wd:s.wd+F*d], s.g[s.wd:s.wd+F*d]
	for k := 0; k < F; k++ {
		atom, ga := Wd[k*d:k*d+d], gWd[k*d:k*d+d]
		tensor.Axpy64(-tensor.Dot64(atom, ga), atom, ga)
	}
	if err := s.opt.Step(s.p, s.g, lr); err != nil {
		panic(err) // p and g are sized with the optimizer
	}
	s.normalize()
}

func (s *state) normalize() {
	d := s.d
	Wd := s.p[s.wd : s.wd+s.f*d]
	for k := 0; k < s.f; k++ {
		atom := Wd[k*d : k*d+d]
		if n := math.Sqrt(tensor.Dot64(atom, atom)); n > 0 {
			for j := range atom {
				atom[j] /= n
			}
		}
	}
}

// model copies the parameters out as an SAE.
func (s *state) model() *SAE {
	d, F := s.d, s.f
	return &SAE{Architecture: s.arch, K: s.k, D: d, F: F,
		We: rows(s.p[s.we:s.we+F*d], F, d), Be: append([]float64(nil), s.p[s.be:s.be+F]...),
		Wd: rows(s.p[s.wd:s.wd+F*d], F, d), Bd: append([]float64(nil), s.p[s.bd:s.bd+d]...)}
}

func rows(flat []float64, n, m int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = append([]float64(nil), flat[i*m:i*m+m]...)
	}
	return out
}

// batchedMinParams is the size d·F from which training computes a batch's
// pre-activations with one float32 matrix multiply (tensor.Gemm) instead of
// float64 dot products row by row: the encoder is most of a step's work
// there. Smaller SAEs (the toy models') keep the float64 path.
const batchedMinParams = 1 << 16

// batchPre computes the pre-activations W_e (x - b_d) + b_e of the n rows of
// xs [n, d] into s.preB [n, F], in float32.
func (s *state) batchPre(xs []float64, n int) []float32 {
	d, F := s.d, s.f
	We, Be, Bd := s.p[s.we:s.we+F*d], s.p[s.be:s.be+F], s.p[s.bd:s.bd+d]
	if len(s.we32) != F*d {
		s.we32 = make([]float32, F*d)
		s.bias32 = make([]float32, F)
	}
	for i, v := range We {
		s.we32[i] = float32(v)
	}
	for k := 0; k < F; k++ {
		s.bias32[k] = float32(Be[k] - tensor.Dot64(We[k*d:k*d+d], Bd))
	}
	if cap(s.x32) < n*d {
		s.x32 = make([]float32, n*d)
		s.preB = make([]float32, n*F)
	}
	x32, pre := s.x32[:n*d], s.preB[:n*F]
	for i, v := range xs[:n*d] {
		x32[i] = float32(v)
	}
	for i := 0; i < n; i++ {
		copy(pre[i*F:(i+1)*F], s.bias32)
	}
	tensor.Gemm(false, true, n, F, d, 1, x32, d, s.we32, d, 1, pre, F)
	return pre
}
