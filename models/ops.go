package models

import (
	"math"
	"runtime"

	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/tensor"
)

// The kernels the layers of layers.go are built from, each forward beside its
// backward, on plain slices. Shapes are in the comments; N stands for B·T rows.

// parallelFor splits [0,n) into one contiguous chunk per core and runs f on
// each, the first chunk on the calling goroutine (which would otherwise
// sleep in Wait and pay a second wake-up). Small n runs inline. A panic in
// a chunk is re-raised on the caller's goroutine (parallel.Group), so that a
// server's recover sees it.
func parallelFor(n, minChunk int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n/minChunk {
		workers = n / minChunk
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	if t := activeTeam.Load(); t != nil && t.run(n, (n+chunk-1)/chunk, chunk, f) {
		return
	}
	var g parallel.Group
	defer g.Wait() // also when the caller's chunk panics
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		g.Go(func() { f(lo, hi) })
	}
	f(0, chunk)
}

// parallelCols runs f on ranges of the C columns of an [N,C] reduction
// (a bias or LayerNorm gradient summed over the rows), split among the
// cores when there are enough values. Each column is summed by one worker
// over the rows in order, so the result is the serial loop's, bit for bit.
func parallelCols(N, C int, f func(j0, j1 int)) {
	if N*C < parallelColsMinWork {
		f(0, C)
		return
	}
	parallelFor(C, 16, f)
}

// parallelColsMinWork is the fewest values parallelCols splits: below it a
// goroutine's start costs more than the sum.
const parallelColsMinWork = 1 << 15

// addColSums adds to db [O] the sums of the N rows of d [N,O].
func addColSums(db, d []float32, N, O int) {
	parallelCols(N, O, func(j0, j1 int) {
		colSums(db[j0:j1], nil, d[j0:], nil, N, O)
	})
}

// colSums adds to db the sums of the N rows of d (rows ld apart, len(db)
// columns each) and, when dw is not nil, to dw the sums of d·h, h laid out
// as d. Eight columns are summed at a time in registers over blocks of
// rows, each column in the order of the rows, so the sums are the plain
// loop's bit for bit (which loaded and stored each sum once per row).
func colSums(db, dw, d, h []float32, N, ld int) {
	n := len(db)
	for i0 := 0; i0 < N; i0 += colSumRows {
		i1 := min(i0+colSumRows, N)
		j := 0
		for ; j+8 <= n; j += 8 {
			b := (*[8]float32)(db[j : j+8])
			b0, b1, b2, b3, b4, b5, b6, b7 := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
			for i := i0; i < i1; i++ {
				r := (*[8]float32)(d[i*ld+j : i*ld+j+8])
				b0, b1, b2, b3 = b0+r[0], b1+r[1], b2+r[2], b3+r[3]
				b4, b5, b6, b7 = b4+r[4], b5+r[5], b6+r[6], b7+r[7]
			}
			b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = b0, b1, b2, b3, b4, b5, b6, b7
			if dw == nil {
				continue
			}
			w := (*[8]float32)(dw[j : j+8])
			w0, w1, w2, w3, w4, w5, w6, w7 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
			for i := i0; i < i1; i++ {
				r := (*[8]float32)(d[i*ld+j : i*ld+j+8])
				x := (*[8]float32)(h[i*ld+j : i*ld+j+8])
				w0, w1, w2, w3 = w0+r[0]*x[0], w1+r[1]*x[1], w2+r[2]*x[2], w3+r[3]*x[3]
				w4, w5, w6, w7 = w4+r[4]*x[4], w5+r[5]*x[5], w6+r[6]*x[6], w7+r[7]*x[7]
			}
			w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7] = w0, w1, w2, w3, w4, w5, w6, w7
		}
		for ; j < n; j++ {
			for i := i0; i < i1; i++ {
				db[j] += d[i*ld+j]
				if dw != nil {
					dw[j] += d[i*ld+j] * h[i*ld+j]
				}
			}
		}
	}
}

// colSumRows is the rows colSums sums per pass over a column block: 64
// rows of 2048 floats (512 KB) stay in L2 while each block of eight columns
// is summed.
const colSumRows = 64

// layerNormStats centres each row of x [N,C] and returns it in xhat with the
// scale sqrt(var+eps) in scale [N]; layerNormNormalize then divides by it.
// The split mirrors TransformerLens, whose hook_scale fires between the two.
func layerNormStats(xhat, scale, x []float32, N, C int, eps float32) {
	parallelFor(N, 64, func(lo, hi int) {
		i := lo
		// Four rows at a time: each row's two float64 sums are chains of
		// dependent additions, and four chains keep the adder busy where one
		// waited on each addition's latency. Each row's sums are the
		// one-row loop's, in the same order.
		for ; i+4 <= hi; i += 4 {
			x0, x1, x2, x3 := x[i*C:(i+1)*C], x[(i+1)*C:(i+2)*C], x[(i+2)*C:(i+3)*C], x[(i+3)*C:(i+4)*C]
			x1, x2, x3 = x1[:len(x0)], x2[:len(x0)], x3[:len(x0)]
			o0, o1, o2, o3 := xhat[i*C:(i+1)*C], xhat[(i+1)*C:(i+2)*C], xhat[(i+2)*C:(i+3)*C], xhat[(i+3)*C:(i+4)*C]
			o0, o1, o2, o3 = o0[:len(x0)], o1[:len(x0)], o2[:len(x0)], o3[:len(x0)]
			var m0, m1, m2, m3 float64
			for j, v := range x0 {
				m0 += float64(v)
				m1 += float64(x1[j])
				m2 += float64(x2[j])
				m3 += float64(x3[j])
			}
			m0 /= float64(C)
			m1 /= float64(C)
			m2 /= float64(C)
			m3 /= float64(C)
			var v0, v1, v2, v3 float64
			for j, v := range x0 {
				d0, d1, d2, d3 := float64(v)-m0, float64(x1[j])-m1, float64(x2[j])-m2, float64(x3[j])-m3
				o0[j], o1[j], o2[j], o3[j] = float32(d0), float32(d1), float32(d2), float32(d3)
				v0 += d0 * d0
				v1 += d1 * d1
				v2 += d2 * d2
				v3 += d3 * d3
			}
			scale[i] = float32(math.Sqrt(v0/float64(C) + float64(eps)))
			scale[i+1] = float32(math.Sqrt(v1/float64(C) + float64(eps)))
			scale[i+2] = float32(math.Sqrt(v2/float64(C) + float64(eps)))
			scale[i+3] = float32(math.Sqrt(v3/float64(C) + float64(eps)))
		}
		for ; i < hi; i++ {
			row, out := x[i*C:(i+1)*C], xhat[i*C:(i+1)*C]
			var mean float64
			for _, v := range row {
				mean += float64(v)
			}
			mean /= float64(C)
			var v2 float64
			for j, v := range row {
				d := float64(v) - mean
				out[j] = float32(d)
				v2 += d * d
			}
			scale[i] = float32(math.Sqrt(v2/float64(C) + float64(eps)))
		}
	})
}

// layerNormNormalize turns centred rows into xhat = centred/scale in place.
func layerNormNormalize(xhat, scale []float32, N, C int) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := 1 / scale[i]
			row := xhat[i*C : (i+1)*C]
			for j := range row {
				row[j] *= r
			}
		}
	})
}

// layerNormNormalizeAffine is layerNormNormalize then layerNormAffine in
// one pass over each row.
func layerNormNormalizeAffine(out, xhat, scale, w, b []float32, N, C int) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := 1 / scale[i]
			h, o := xhat[i*C:(i+1)*C], out[i*C:(i+1)*C]
			o, w, b := o[:len(h)], w[:len(h)], b[:len(h)]
			for j, v := range h {
				v *= r
				h[j] = v
				o[j] = v*w[j] + b[j]
			}
		}
	})
}

// layerNormBackward adds to dx [N,C] (and dw, db [C]) the gradient of
// out = xhat*w + b, given dout, xhat and scale.
func layerNormBackward(dx, dw, db, dout, xhat, scale, w []float32, N, C int) {
	parallelCols(N, C, func(j0, j1 int) {
		colSums(db[j0:j1], dw[j0:j1], dout[j0:], xhat[j0:], N, C)
	})
	parallelFor(N, 64, func(lo, hi int) {
		dxhat := make([]float32, 4*C)
		i := lo
		// Four rows at a time, as in layerNormStats: each row's sums are
		// the one-row loop's.
		for ; i+4 <= hi; i += 4 {
			var mean, meanH [4]float64
			for k := range 4 {
				do, dh := dout[(i+k)*C:(i+k+1)*C], dxhat[k*C:(k+1)*C]
				dh, w := dh[:len(do)], w[:len(do)]
				for j := range do {
					dh[j] = do[j] * w[j]
				}
			}
			d0, d1, d2, d3 := dxhat[:C], dxhat[C:2*C], dxhat[2*C:3*C], dxhat[3*C:4*C]
			h0, h1, h2, h3 := xhat[i*C:(i+1)*C], xhat[(i+1)*C:(i+2)*C], xhat[(i+2)*C:(i+3)*C], xhat[(i+3)*C:(i+4)*C]
			d1, d2, d3 = d1[:len(d0)], d2[:len(d0)], d3[:len(d0)]
			h0, h1, h2, h3 = h0[:len(d0)], h1[:len(d0)], h2[:len(d0)], h3[:len(d0)]
			for j, v := range d0 {
				mean[0] += float64(v)
				meanH[0] += float64(v * h0[j])
				mean[1] += float64(d1[j])
				meanH[1] += float64(d1[j] * h1[j])
				mean[2] += float64(d2[j])
				meanH[2] += float64(d2[j] * h2[j])
				mean[3] += float64(d3[j])
				meanH[3] += float64(d3[j] * h3[j])
			}
			for k := range 4 {
				m, mh := float32(mean[k]/float64(C)), float32(meanH[k]/float64(C))
				r := 1 / scale[i+k]
				dh, h, d := dxhat[k*C:(k+1)*C], xhat[(i+k)*C:(i+k+1)*C], dx[(i+k)*C:(i+k+1)*C]
				h, d = h[:len(dh)], d[:len(dh)]
				for j := range dh {
					d[j] += r * (dh[j] - m - h[j]*mh)
				}
			}
		}
		for ; i < hi; i++ {
			do, h, d := dout[i*C:(i+1)*C], xhat[i*C:(i+1)*C], dx[i*C:(i+1)*C]
			var mean, meanH float64
			for j := range do {
				dxhat[j] = do[j] * w[j]
				mean += float64(dxhat[j])
				meanH += float64(dxhat[j] * h[j])
			}
			mean /= float64(C)
			meanH /= float64(C)
			r := 1 / scale[i]
			for j := range d {
				d[j] += r * (dxhat[j] - float32(mean) - h[j]*float32(meanH))
			}
		}
	})
}

// linear computes out [N,O] = x [N,I] · w [I,O] + b [O]; w is stored [I,O]
// with row stride ldw (>= O, for column blocks of a fused weight).
func linear(out, x, w []float32, ldw int, b []float32, N, I, O int) {
	if b != nil && N > fewRows {
		// The product adds onto rows holding the bias: one pass over out
		// that writes, instead of a second one that reads and writes.
		parallelFor(N, 32, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(out[i*O:(i+1)*O], b)
			}
		})
		tensor.Gemm(false, false, N, O, I, 1, x, I, w, ldw, 1, out, O)
		return
	}
	gemmFewRows(false, N, O, I, x, I, w, ldw, out, O, b, nil)
}

// fewRows is the most rows of x for which gemmFewRows splits the weight's
// columns among the cores itself: tensor.Gemm splits a product only above
// a size that a decoding step's products (one row per sequence, a few
// hundred thousand multiply-adds each) stay under, so without this a
// second core sat idle while the first generated.
const fewRows = 32

// fewRowsMinWork is the multiply-adds per worker below which gemmFewRows
// stays on one goroutine: starting and joining one costs about a
// microsecond, a twentieth of a product of this size.
const fewRowsMinWork = 1 << 17

// gemmFewRows computes C [N,O] = X [N,I] · op(W), op(W) = W stored [I,O]
// (row stride ldw) or, with transW, Wᵀ for W stored [O,I]. With at most
// fewRows rows it splits the O columns among the cores (in blocks of 32,
// the widest micro-kernel tile), each worker multiplying its columns of W
// by all of X, so each reads a disjoint part of the weight. With transW
// and few rows it multiplies W · Xᵀ into scratch [O,N] and transposes that
// into C: W's rows are then the product's A, which the kernel reads in
// place, where as its B they would be repacked column by column on every
// call, which cost twice the product on a decoding step's unembedding.
// Each worker adds the bias b [O] (nil: none) to its own columns.
// scratch (transW only, O·N floats) may be nil to allocate.
func gemmFewRows(transW bool, N, O, I int, x []float32, ldx int, w []float32, ldw int, c []float32, ldc int, b, scratch []float32) {
	if N > fewRows {
		tensor.Gemm(false, transW, N, O, I, 1, x, ldx, w, ldw, 0, c, ldc)
		addBias(c, ldc, b, N, 0, O)
		return
	}
	if transW && scratch == nil {
		scratch = make([]float32, O*N)
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, N*O*I/fewRowsMinWork), (O+31)/32)
	chunk := (O + workers - 1) / workers
	chunk = (chunk + 31) / 32 * 32
	parallelFor((O+chunk-1)/chunk, 1, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			j0 := part * chunk
			cols := min(chunk, O-j0)
			if !transW {
				tensor.Gemm(false, false, N, cols, I, 1, x, ldx, w[j0:], ldw, 0, c[j0:], ldc)
			} else {
				t := scratch[j0*N : (j0+cols)*N]
				tensor.Gemm(false, true, cols, N, I, 1, w[j0*ldw:], ldw, x, ldx, 0, t, N)
				transposeInto(c[j0:], ldc, t, cols, N, 0, N)
			}
			addBias(c, ldc, b, N, j0, j0+cols)
		}
	})
}

// addBias adds b[j0:j1] to columns [j0,j1) of the N rows of C (nothing
// when b is nil).
func addBias(c []float32, ldc int, b []float32, N, j0, j1 int) {
	if b == nil {
		return
	}
	b = b[j0:j1]
	for i := 0; i < N; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// gemmTransWBlocked computes C [N,O] = X [N,I] · Wᵀ for W stored [O,I] as
// blocks of W · Xᵀ [rows,N] transposed into C: W's rows are then the
// product's A, read in place, where as its B they would be repacked column
// by column (a scalar transpose of the whole weight, on the unembedding of
// a 50k vocabulary the largest copy of a forward pass). scratch holds one
// block (at least N·32 floats; its length sets the block).
func gemmTransWBlocked(N, O, I int, x []float32, ldx int, w []float32, ldw int, c []float32, ldc int, scratch []float32) {
	rows := max(32, len(scratch)/N/32*32)
	for v0 := 0; v0 < O; v0 += rows {
		n := min(rows, O-v0)
		t := scratch[:n*N]
		tensor.Gemm(false, true, n, N, I, 1, w[v0*ldw:], ldw, x, ldx, 0, t, N)
		parallelFor((N+7)/8, 1, func(lo, hi int) {
			transposeInto(c[v0:], ldc, t, n, N, lo*8, min(hi*8, N))
		})
	}
}

// transposeInto sets rows [lo,hi) of C (columns [0,n)) from t [n,N]:
// C[i,j] = t[j,i]. Eight rows of C take eight consecutive values of each
// row of t at once, so that t is read along its rows and each row of C
// written in order; the one-element-at-a-time loop it replaced took a
// twentieth of a Pythia-160M pass.
func transposeInto(c []float32, ldc int, t []float32, n, N, lo, hi int) {
	i := lo
	for ; i+8 <= hi; i += 8 {
		c0, c1 := c[i*ldc:i*ldc+n], c[(i+1)*ldc:(i+1)*ldc+n]
		c2, c3 := c[(i+2)*ldc:(i+2)*ldc+n], c[(i+3)*ldc:(i+3)*ldc+n]
		c4, c5 := c[(i+4)*ldc:(i+4)*ldc+n], c[(i+5)*ldc:(i+5)*ldc+n]
		c6, c7 := c[(i+6)*ldc:(i+6)*ldc+n], c[(i+7)*ldc:(i+7)*ldc+n]
		for j := range c0 {
			s := (*[8]float32)(t[j*N+i : j*N+i+8])
			c0[j], c1[j], c2[j], c3[j] = s[0], s[1], s[2], s[3]
			c4[j], c5[j], c6[j], c7[j] = s[4], s[5], s[6], s[7]
		}
	}
	for ; i < hi; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] = t[j*N+i]
		}
	}
}

// linearBackward adds the gradients of linear: dw += xᵀ·dout, db += Σ dout,
// dx += dout·wᵀ (dx may be nil).
func linearBackward(dx, dw []float32, ldw int, db, dout, x, w []float32, N, I, O int) {
	tensor.Gemm(true, false, I, O, N, 1, x, I, dout, O, 1, dw, ldw)
	if db != nil {
		addColSums(db, dout, N, O)
	}
	if dx != nil {
		tensor.Gemm(false, true, N, I, O, 1, dout, O, w, ldw, 1, dx, I)
	}
}

// geluTanh is GPT-2's GELU ("gelu_new"), tensor.GeluTanh split among the
// cores.
func geluTanh(out, x []float32) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		tensor.GeluTanh(out[lo:hi], x[lo:hi])
	})
}

// geluTanhBackward adds dout·gelu'(x) to dx (tensor.GeluTanhBackward split
// among the cores).
func geluTanhBackward(dx, dout, x []float32) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		tensor.GeluTanhBackward(dx[lo:hi], dout[lo:hi], x[lo:hi])
	})
}

// softmaxCausalRow turns scores s [T] of query position i into a pattern p:
// keys j > i get probability 0 (their scores are -Inf already).
func softmaxCausalRow(p, s []float32, i int) {
	maxv := float32(math.Inf(-1))
	for j := 0; j <= i; j++ {
		if s[j] > maxv {
			maxv = s[j]
		}
	}
	row := p[:i+1]
	tensor.ExpShifted(row, s[:i+1], maxv)
	var sum float64
	for _, e := range row {
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for j := range row {
		row[j] *= inv
	}
	clear(p[i+1:])
}

// softmaxCausalRows is softmaxCausalRow on rows [i0,i1) of one head's T×T
// scores s and pattern p (row i sees keys 0..i). Four rows at a time, the
// float64 sums (each row's a chain of dependent additions) run side by
// side over the keys all four see, then each row's last few; every row's
// values are softmaxCausalRow's bit for bit.
func softmaxCausalRows(p, s []float32, T, i0, i1 int) {
	i := i0
	for ; i+4 <= i1; i += 4 {
		var inv [4]float32
		var rows [4][]float32
		for k := range 4 {
			r := i + k
			sr := s[r*T : r*T+r+1]
			maxv := float32(math.Inf(-1))
			for _, v := range sr {
				if v > maxv {
					maxv = v
				}
			}
			rows[k] = p[r*T : r*T+r+1]
			tensor.ExpShifted(rows[k], sr, maxv)
		}
		r0, r1, r2, r3 := rows[0], rows[1][:len(rows[0])], rows[2][:len(rows[0])], rows[3][:len(rows[0])]
		var s0, s1, s2, s3 float64
		for j, e := range r0 {
			s0 += float64(e)
			s1 += float64(r1[j])
			s2 += float64(r2[j])
			s3 += float64(r3[j])
		}
		sums := [4]float64{s0, s1, s2, s3}
		for k := 1; k < 4; k++ {
			for _, e := range rows[k][len(r0):] {
				sums[k] += float64(e)
			}
		}
		for k := range 4 {
			inv[k] = float32(1 / sums[k])
			row := rows[k]
			for j := range row {
				row[j] *= inv[k]
			}
			clear(p[(i+k)*T+i+k+1 : (i+k+1)*T])
		}
	}
	for ; i < i1; i++ {
		softmaxCausalRow(p[i*T:(i+1)*T], s[i*T:(i+1)*T], i)
	}
}

// crossEntropy fills losses [N] with -log softmax(logits)[target] and lse
// [N] with each row's log-sum-exp (for the backward pass), and returns the
// losses' sum and the count of rows with a target (targets < 0 are skipped).
func crossEntropy(losses, lse, logits []float32, targets []int, N, V int) (float64, int) {
	parallelFor(N, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if targets[i] < 0 {
				losses[i] = 0
				continue
			}
			row := logits[i*V : (i+1)*V]
			l := tensor.LogSumExpFast(row)
			lse[i] = float32(l)
			losses[i] = float32(l - float64(row[targets[i]]))
		}
	})
	var total float64
	n := 0
	for i, l := range losses {
		if targets[i] >= 0 {
			total += float64(l)
			n++
		}
	}
	return total, n
}

// crossEntropyBackward writes into dlogits [N,V] the gradient of
// scale·Σ losses: scale·(softmax − onehot(target)), the softmax from the
// forward pass's lse [N]; rows without a target get 0.
func crossEntropyBackward(dlogits, logits, lse []float32, targets []int, N, V int, scale float32) {
	parallelFor(N, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d, row := dlogits[i*V:(i+1)*V], logits[i*V:(i+1)*V]
			if targets[i] < 0 {
				clear(d)
				continue
			}
			tensor.ExpShifted(d, row, lse[i])
			for j := range d {
				d[j] *= scale
			}
			d[targets[i]] -= scale
		}
	})
}
