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
		acc := db[j0:j1]
		for i := 0; i < N; i++ {
			row := d[i*O+j0 : i*O+j1]
			for j := range acc {
				acc[j] += row[j]
			}
		}
	})
}

// layerNormStats centres each row of x [N,C] and returns it in xhat with the
// scale sqrt(var+eps) in scale [N]; layerNormNormalize then divides by it.
// The split mirrors TransformerLens, whose hook_scale fires between the two.
func layerNormStats(xhat, scale, x []float32, N, C int, eps float32) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
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

// layerNormAffine computes out = xhat*w + b row by row.
func layerNormAffine(out, xhat, w, b []float32, N, C int) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o, h := out[i*C:(i+1)*C], xhat[i*C:(i+1)*C]
			for j := range o {
				o[j] = h[j]*w[j] + b[j]
			}
		}
	})
}

// layerNormBackward adds to dx [N,C] (and dw, db [C]) the gradient of
// out = xhat*w + b, given dout, xhat and scale.
func layerNormBackward(dx, dw, db, dout, xhat, scale, w []float32, N, C int) {
	parallelCols(N, C, func(j0, j1 int) {
		dw, db := dw[j0:j1], db[j0:j1]
		for i := 0; i < N; i++ {
			do, h := dout[i*C+j0:i*C+j1], xhat[i*C+j0:i*C+j1]
			for j := range do {
				dw[j] += do[j] * h[j]
				db[j] += do[j]
			}
		}
	})
	parallelFor(N, 64, func(lo, hi int) {
		dxhat := make([]float32, C)
		for i := lo; i < hi; i++ {
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
