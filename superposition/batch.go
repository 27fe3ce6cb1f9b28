package superposition

import (
	"math"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
)

// batchWork holds the feature-major buffers of the batched step: X[i*C+b] is
// feature i of sample b of the current chunk of C samples, and so on. All
// inner loops run over the chunk, which is what the SIMD kernels want.
type batchWork struct {
	C         int
	X, G      []float64 // [n][C]
	H, Hp, DH []float64 // [m][C]
	P         []float64 // [C]
	gnz       []bool    // [n]: feature i has a non-zero gradient in the chunk
	row       []float64 // [n] scratch for the general sampler
	nz        []int32
}

func newBatchWork(n, m, batch int) *batchWork {
	c := min(batch, max(64, (32768/n)&^15))
	return &batchWork{C: c, X: make([]float64, n*c), G: make([]float64, n*c),
		H: make([]float64, m*c), Hp: make([]float64, m*c), DH: make([]float64, m*c),
		P: make([]float64, c), gnz: make([]bool, n), row: make([]float64, n), nz: make([]int32, n)}
}

// fillColumns draws c samples into X, feature-major.
func (s *sampler) fillColumns(r *seed.Rand, X []float64, C, c int, row []float64, nz []int32) {
	if !s.simple {
		for b := 0; b < c; b++ {
			s.sample(r, row, nz)
			for i, v := range row {
				X[i*C+b] = v
			}
		}
		return
	}
	for i := 0; i < s.n; i++ {
		xi := X[i*C : i*C+c]
		thr, inv := s.thr[i], s.inv[i]
		b := 0
		// Branch-free: mask is all ones when the feature is present (u < thr).
		for ; b+1 < c; b += 2 {
			u := r.Uint64()
			lo, hi := u&0xffffffff, u>>32
			m0 := uint64(int64(lo-thr) >> 63)
			m1 := uint64(int64(hi-thr) >> 63)
			xi[b] = math.Float64frombits(math.Float64bits(float64(lo)*inv) & m0)
			xi[b+1] = math.Float64frombits(math.Float64bits(float64(hi)*inv) & m1)
		}
		if b < c {
			lo := r.Uint64() & 0xffffffff
			m0 := uint64(int64(lo-thr) >> 63)
			xi[b] = math.Float64frombits(math.Float64bits(float64(lo)*inv) & m0)
		}
		if s.signed {
			for b, v := range xi {
				if v != 0 {
					xi[b] = 2*v - 1
				}
			}
		}
	}
}

// chunkTied adds the gradient (scaled by scale) of c samples in bw.X to g
// for the Linear, ReLUOutput and ReLUHidden models and returns their summed
// loss. It is the batched form of accTied.
func (l *layout) chunkTied(p, g, imp []float64, bw *batchWork, c int, scale float64) float64 {
	loss := l.chunkForward(p, g, imp, bw, c, scale)
	l.chunkBackward(p, g, bw, c)
	return loss
}

// chunkForward computes the hidden activations H (and their
// pre-activations Hp for ReLUHidden), then per feature the output, the loss
// and the output gradient G, adding the bias gradient into g and marking in
// gnz the features whose gradient is not all zero.
func (l *layout) chunkForward(p, g, imp []float64, bw *batchWork, c int, scale float64) float64 {
	n, m, C := l.n, l.m, bw.C
	W := p[:n*m]
	bias := p[n*m : n*m+n]
	gb := g[n*m : n*m+n]
	H := bw.H
	clear(H)
	for i := 0; i < n; i++ {
		xi := bw.X[i*C : i*C+c]
		for k := 0; k < m; k++ {
			if w := W[i*m+k]; w != 0 {
				tensor.Axpy64(w, xi, H[k*C:k*C+c])
			}
		}
	}
	hidden := l.kind == ReLUHidden
	if hidden {
		copy(bw.Hp, H)
		for j, v := range H {
			if v < 0 {
				H[j] = 0
			}
		}
	}
	relu := l.kind != Linear
	P := bw.P[:c]
	var loss float64
	for i := 0; i < n; i++ {
		bi := bias[i]
		for b := range P {
			P[b] = bi
		}
		for k := 0; k < m; k++ {
			tensor.Axpy64(W[i*m+k], H[k*C:k*C+c], P)
		}
		xi := bw.X[i*C : i*C+c]
		gi := bw.G[i*C : i*C+c]
		xi = xi[:len(P)]
		gi = gi[:len(P)]
		coef := 2 * scale * imp[i]
		li, gs, any := tensor.ClampedResidual64(P, xi, gi, coef, relu)
		loss += imp[i] * li
		gb[i] += gs
		bw.gnz[i] = any
	}
	return loss
}

// chunkBackward adds the weight gradient of the chunk whose forward pass
// chunkForward just ran: W is used twice (W x, then W^T h), so its gradient
// has a term from the output and one from the hidden layer.
func (l *layout) chunkBackward(p, g []float64, bw *batchWork, c int) {
	n, m, C := l.n, l.m, bw.C
	W := p[:n*m]
	gW := g[:n*m]
	H := bw.H
	hidden := l.kind == ReLUHidden
	DH := bw.DH
	clear(DH)
	for i := 0; i < n; i++ {
		if !bw.gnz[i] {
			continue
		}
		gi := bw.G[i*C : i*C+c]
		for k := 0; k < m; k++ {
			hk := H[k*C : k*C+c]
			gW[i*m+k] += tensor.Dot64(gi, hk)
			tensor.Axpy64(W[i*m+k], gi, DH[k*C:k*C+c])
		}
	}
	if hidden {
		for j, v := range bw.Hp {
			if v <= 0 {
				DH[j] = 0
			}
		}
	}
	for i := 0; i < n; i++ {
		xi := bw.X[i*C : i*C+c]
		for k := 0; k < m; k++ {
			gW[i*m+k] += tensor.Dot64(xi, DH[k*C:k*C+c])
		}
	}
}
