package sae

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

// num is the element type of a trainer: float32 for SAEs of transformer
// activations (every product through tensor.Gemm), float64 for the toy
// models' small SAEs and for the finite-difference tests.
type num interface{ ~float32 | ~float64 }

// gemmFunc is tensor.Gemm's contract for element type T.
type gemmFunc[T num] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// gemm64 is gonum's float64 Dgemm under tensor.Gemm's contract.
func gemm64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// adam are the hyperparameters of the SAE's optimizer: Adam with PyTorch's
// defaults and no weight decay.
var adam = train.Hyper{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}

// trainer is an SAE being trained on whole batches, llm.c style: flat
// parameters p = [W_e [F,D] | b_e [F] | W_d [F,D] (atom-major) | b_d [D] |
// log θ [F] (JumpReLU only)], their gradient g, the optimizer and the
// batch's activations. forward and backward sit side by side below; dense
// batches go through three matrix products forward... see forward.
type trainer[T num] struct {
	d, f int
	cfg  Config
	gemm gemmFunc[T]
	p, g []T
	opt  *train.AdamW[T]
	// Offsets into p and g; lt < 0 when there is no threshold.
	we, be, wd, bd, lt int
	// thr is BatchTopK's running estimate of its inference threshold.
	thr float64

	n              int // rows in the batch
	x, xb, r       []T // [n, D]: input, x - b_d, then x_hat - x and its gradient
	pre, fa, dz    []T // [n, F]: pre-activations, activations, ∂loss/∂pre (dense path)
	sparse         bool
	force          int8         // tests: 1 takes the dense path, 2 the sparse one, 0 chooses
	idx            []int32      // active latents, row by row (sparse path)
	val, dval      []T          // their activations and ∂loss/∂pre
	start          []int        // [n+1]: row i's entries are idx[start[i]:start[i+1]]
	colStart       []int        // [F+1], by latent (byLatent)
	colPos         []int        // [F]: byLatent's scratch
	colEnt, colRow []int32      // [nnz]: the entries sorted by latent, and their rows
	lists          []rowList[T] // per worker: the active latents activate listed
	nLists         int          // workers of the last activate
	listed         bool         // every one of their lists is complete
	tmp            []T          // [D, F]: a transposed weight gradient (dense path)
	heaps          [][]T        // per-worker top-k scratch
	colSum, dbias  []T          // [F], [D]
	aux            auxK[T]
}

// workers is the number of goroutines the row and feature loops use.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallel runs fn over [0, n) cut into one range per worker.
func parallel(n int, fn func(lo, hi int)) {
	w := min(workers(), n)
	if w <= 1 || n < 64 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	wg.Wait()
}

func newTrainerOf[T num](d int, cfg Config, gemm gemmFunc[T]) *trainer[T] {
	F := cfg.DictSize
	t := &trainer[T]{d: d, f: F, cfg: cfg, gemm: gemm, lt: -1}
	t.we, t.be, t.wd, t.bd = 0, F*d, F*d+F, 2*F*d+F
	size := 2*F*d + F + d
	if cfg.Architecture == JumpReLU {
		t.lt = size
		size += F
	}
	t.p, t.g = make([]T, size), make([]T, size)
	t.opt = train.NewAdamWMasked[T](size, adam, nil)
	t.colSum, t.dbias = make([]T, F), make([]T, d)
	t.heaps = make([][]T, workers())
	return t
}

func (t *trainer[T]) params() (We, Be, Wd, Bd []T) {
	F, d := t.f, t.d
	return t.p[t.we : t.we+F*d], t.p[t.be : t.be+F], t.p[t.wd : t.wd+F*d], t.p[t.bd : t.bd+d]
}

func (t *trainer[T]) grads() (We, Be, Wd, Bd []T) {
	F, d := t.f, t.d
	return t.g[t.we : t.we+F*d], t.g[t.be : t.be+F], t.g[t.wd : t.wd+F*d], t.g[t.bd : t.bd+d]
}

// init draws the decoder as random unit rows, copies it into the encoder,
// sets b_d to mean and JumpReLU's θ to cfg.InitThreshold.
func (t *trainer[T]) init(r interface{ NormFloat64() float64 }, mean []float64) {
	We, _, Wd, Bd := t.params()
	for j := range Wd {
		Wd[j] = T(r.NormFloat64())
	}
	t.normalize()
	copy(We, Wd)
	for j := range Bd {
		Bd[j] = T(mean[j])
	}
	if t.lt >= 0 {
		for k := 0; k < t.f; k++ {
			t.p[t.lt+k] = T(math.Log(t.cfg.InitThreshold))
		}
	}
}

// resize makes the batch buffers hold n rows.
func (t *trainer[T]) resize(n int) {
	t.n = n
	if cap(t.x) < n*t.d {
		t.x, t.xb, t.r = make([]T, n*t.d), make([]T, n*t.d), make([]T, n*t.d)
		t.pre, t.fa, t.dz = make([]T, n*t.f), make([]T, n*t.f), make([]T, n*t.f)
		t.start = make([]int, n+1)
	}
	t.x, t.xb, t.r = t.x[:n*t.d], t.xb[:n*t.d], t.r[:n*t.d]
	t.pre, t.fa, t.dz = t.pre[:n*t.f], t.fa[:n*t.f], t.dz[:n*t.f]
	t.start = t.start[:n+1]
}

// theta is JumpReLU's threshold of latent k.
func (t *trainer[T]) theta(k int) T { return T(math.Exp(float64(t.p[t.lt+k]))) }

// forward runs the n rows in t.x through the SAE: xb = x - b_d, pre =
// xb W_e^T + b_e ([n,D]·[D,F], one Gemm), f = σ(pre), r = x_hat - x with
// x_hat = f W_d + b_d (one Gemm when f is dense, else a sum over each
// row's active latents). infer applies BatchTopK's inference form (its
// threshold). It returns Σ||r||², the penalty summed over rows before λ
// (ReLU: Σf; JumpReLU: the L0) and the number of active (row, latent)
// pairs.
func (t *trainer[T]) forward(infer bool) (sse, pen float64, nnz int) {
	n, D, F := t.n, t.d, t.f
	We, _, Wd, Bd := t.params()
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x, xb := t.x[i*D:(i+1)*D], t.xb[i*D:(i+1)*D]
			for j := range xb {
				xb[j] = x[j] - Bd[j]
			}
		}
	})
	t.gemm(false, true, n, F, D, 1, t.xb, D, We, D, 0, t.pre, F) // + b_e in activate
	pen = t.activate(infer)
	// activate counted each row's active latents into t.start[i+1]: make
	// t.start their prefix sums and choose the path.
	t.start[0] = 0
	for i := 0; i < n; i++ {
		t.start[i+1] += t.start[i]
	}
	nnz = t.start[n]
	t.sparse = t.force == 2 || (t.force == 0 && nnz*sparseBelow < n*F)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(t.r[i*D:(i+1)*D], Bd)
		}
	})
	if t.sparse {
		t.gather(nnz)
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := t.r[i*D : (i+1)*D]
				for e := t.start[i]; e < t.start[i+1]; e++ {
					axpy(t.val[e], Wd[int(t.idx[e])*D:int(t.idx[e])*D+D], r)
				}
			}
		})
	} else {
		t.gemm(false, false, n, D, F, 1, t.fa, F, Wd, D, 1, t.r, D)
	}
	sums := make([]float64, n)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r, x := t.r[i*D:(i+1)*D], t.x[i*D:(i+1)*D]
			var s float64
			for j := range r {
				r[j] -= x[j]
				s += float64(r[j]) * float64(r[j])
			}
			sums[i] = s
		}
	})
	for _, s := range sums {
		sse += s
	}
	return sse, pen, nnz
}

// gather lists each row's active latents (sparse path) at the offsets
// forward counted in t.start.
func (t *trainer[T]) gather(nnz int) {
	n, F := t.n, t.f
	if cap(t.idx) < nnz {
		t.idx, t.val, t.dval = make([]int32, nnz), make([]T, nnz), make([]T, nnz)
	}
	t.idx, t.val, t.dval = t.idx[:nnz], t.val[:nnz], t.dval[:nnz]
	if t.listed { // activate listed them, worker by worker
		for _, l := range t.lists[:t.nLists] {
			copy(t.idx[t.start[l.lo]:], l.idx)
			copy(t.val[t.start[l.lo]:], l.val)
		}
		return
	}
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			e := t.start[i]
			for k, v := range t.fa[i*F : (i+1)*F] {
				if v != 0 {
					t.idx[e], t.val[e] = int32(k), v
					e++
				}
			}
		}
	})
}

// byLatent sorts the active pairs by latent (a counting sort that keeps
// the rows in order): latent k's are t.colEnt[t.colStart[k]:t.colStart[k+1]],
// entries of t.idx, with their rows in t.colRow. The weight gradients then
// sum each latent's rows in one place, its two gradient rows staying in
// cache (sparse path).
func (t *trainer[T]) byLatent() {
	n, F, nnz := t.n, t.f, len(t.idx)
	if len(t.colStart) != F+1 {
		t.colStart, t.colPos = make([]int, F+1), make([]int, F)
	}
	if cap(t.colEnt) < nnz {
		t.colEnt, t.colRow = make([]int32, nnz), make([]int32, nnz)
	}
	t.colEnt, t.colRow = t.colEnt[:nnz], t.colRow[:nnz]
	clear(t.colStart)
	for _, k := range t.idx {
		t.colStart[k+1]++
	}
	for k := 0; k < F; k++ {
		t.colStart[k+1] += t.colStart[k]
	}
	copy(t.colPos, t.colStart[:F])
	for i := 0; i < n; i++ {
		for e := t.start[i]; e < t.start[i+1]; e++ {
			k := t.idx[e]
			q := t.colPos[k]
			t.colPos[k]++
			t.colEnt[q], t.colRow[q] = int32(e), int32(i)
		}
	}
}

// countFires adds 1 to fires[k] for every row from b0 on in which latent k
// fired.
func (t *trainer[T]) countFires(fires []int, b0 int) {
	F := t.f
	if t.sparse {
		for _, k := range t.idx[t.start[b0]:] {
			fires[k]++
		}
		return
	}
	parallel(F, func(lo, hi int) { // each worker its own latents
		for b := b0; b < t.n; b++ {
			for k, a := range t.fa[b*F+lo : b*F+hi] {
				if a != 0 {
					fires[lo+k]++
				}
			}
		}
	})
}

// activate adds b_e to t.pre (forward's product leaves it out), sets
// t.fa = σ(t.pre), row i's count of active latents in
// t.start[i+1], and returns the penalty before λ.
func (t *trainer[T]) activate(infer bool) float64 {
	n, F := t.n, t.f
	arch := t.cfg.Architecture
	_, Be, _, _ := t.params()
	t.listed = false
	if arch == BatchTopK && !infer {
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				axpy(1, Be, t.pre[i*F:(i+1)*F])
			}
		})
		pen := t.batchTopK()
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				t.start[i+1] = countNonZero(t.fa[i*F : (i+1)*F])
			}
		})
		return pen
	}
	var theta []T
	if arch == JumpReLU {
		theta = make([]T, F)
		for k := range theta {
			theta[k] = t.theta(k)
		}
	}
	pens := make([]float64, workers())
	if len(t.lists) != workers() {
		t.lists = make([]rowList[T], workers())
	}
	var mu sync.Mutex
	w := 0
	parallel(n, func(lo, hi int) {
		mu.Lock()
		heap := &t.heaps[w]
		slot := w
		w++
		mu.Unlock()
		// List the active latents of rows lo..hi while each row is in
		// cache, unless they are too many for the sparse path.
		l := &t.lists[slot]
		l.lo, l.ok = lo, true
		l.idx, l.val = l.idx[:0], l.val[:0]
		limit := (hi-lo)*F/sparseBelow + F
		var pen float64
		for i := lo; i < hi; i++ {
			pre, f := t.pre[i*F:(i+1)*F], t.fa[i*F:(i+1)*F]
			axpy(1, Be, pre) // pre = xb W_e^T + b_e, the row in cache
			switch arch {
			case ReLU:
				for k, p := range pre {
					v := max(p, 0)
					f[k] = v
					pen += float64(v)
				}
			case TopK:
				topKRow(pre, f, min(t.cfg.K, F), heap)
			case JumpReLU:
				for k, p := range pre {
					f[k] = 0
					if p > theta[k] {
						f[k] = p
						pen++
					}
				}
			case BatchTopK: // inference: the estimated threshold
				thr := T(t.thr)
				for k, p := range pre {
					f[k] = 0
					if p > thr {
						f[k] = p
					}
				}
			}
			if !l.ok {
				t.start[i+1] = countNonZero(f)
				continue
			}
			before := len(l.idx)
			for k, v := range f {
				if v != 0 {
					l.idx = append(l.idx, int32(k))
					l.val = append(l.val, v)
				}
			}
			t.start[i+1] = len(l.idx) - before
			l.ok = len(l.idx) <= limit
		}
		pens[slot] = pen
	})
	t.nLists = w
	t.listed = true
	for _, l := range t.lists[:w] {
		t.listed = t.listed && l.ok
	}
	var pen float64
	for _, p := range pens {
		pen += p
	}
	return pen
}

// sparseBelow: a batch whose codes have under 1 active latent in
// sparseBelow takes the sparse path. Where the two cross was measured at d
// 512, 4096 latents, batch 4096 (a ReLU step at b_e set for each l0): the
// sparse step is faster at l0 256 (6.3%), slower at 384 and 512.
const sparseBelow = 16

// rowList is one worker's list of the active latents of its rows lo.. in
// order (ok: complete), which gather copies into place.
type rowList[T num] struct {
	lo  int
	ok  bool
	idx []int32
	val []T
}

// countNonZero counts the non-zero entries of f.
func countNonZero[T num](f []T) int {
	c := 0
	for _, v := range f {
		if v != 0 {
			c++
		}
	}
	return c
}

// batchTopK keeps the n·k largest positive pre-activations of the batch
// (ties at the cut keep the earliest) and moves the threshold estimate
// toward the smallest kept value (SAELens's update_topk_threshold).
func (t *trainer[T]) batchTopK() float64 {
	want := t.n * t.cfg.K
	pos := t.dz[:0] // scratch: the positive pre-activations
	for _, p := range t.pre {
		if p > 0 {
			pos = append(pos, p)
		}
	}
	var cut T
	if len(pos) > want {
		cut = quickSelect(pos, len(pos)-want) // the want-th largest
	}
	above := 0
	for _, p := range t.pre {
		if p > cut {
			above++
		}
	}
	ties := want - above
	minKept := T(math.Inf(1))
	for i, p := range t.pre {
		t.fa[i] = 0
		if p > 0 && (p > cut || (p == cut && ties > 0)) {
			if p == cut {
				ties--
			}
			t.fa[i] = p
			minKept = min(minKept, p)
		}
	}
	if !math.IsInf(float64(minKept), 1) {
		lr := t.cfg.ThresholdLR
		t.thr = (1-lr)*t.thr + lr*float64(minKept)
	}
	return 0
}

// quickSelect reorders v and returns the value that would be v[i] were v
// sorted ascending (Hoare's selection, median-of-three pivots).
func quickSelect[T num](v []T, i int) T {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		a, b := lo, hi
		for a <= b {
			for v[a] < pivot {
				a++
			}
			for v[b] > pivot {
				b--
			}
			if a <= b {
				v[a], v[b] = v[b], v[a]
				a++
				b--
			}
		}
		switch {
		case i <= b:
			hi = b
		case i >= a:
			lo = a
		default:
			return v[i]
		}
	}
	return v[i]
}

// backward sets t.g to the gradient of the batch loss
// (Σ_i ||r_i||² + λ pen) / n, plus AuxK's, after forward(false).
//
//	∂x_hat = 2r/n                     [n,D]
//	∂b_d  += Σ_i ∂x_hat_i
//	∂W_d   = f^T ∂x_hat               [F,D]
//	∂f     = ∂x_hat W_d^T             [n,F]
//	∂pre   = σ'(pre) ∂f (+ penalty)   [n,F]
//	∂b_e   = Σ_i ∂pre_i
//	∂W_e   = ∂pre^T xb                [F,D]
//	∂b_d  -= W_e^T ∂b_e               (xb = x - b_d)
//
// Dense batches take the three products as Gemms (the two weight gradients
// transposed, [D,F], where op(A) is the narrower matrix); sparse ones visit
// only the active latents.
func (t *trainer[T]) backward(lambda float64) {
	n, D, F := t.n, t.d, t.f
	We, _, Wd, _ := t.params()
	gWe, gBe, gWd, gBd := t.grads()
	clear(t.g)
	s := T(2 / float64(n))
	for j := range t.r {
		t.r[j] *= s
	}
	for i := 0; i < n; i++ {
		axpy(1, t.r[i*D:(i+1)*D], gBd)
	}
	lam := T(lambda / float64(n))
	arch := t.cfg.Architecture
	if t.sparse {
		// ∂f and ∂pre at the active latents.
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gr := t.r[i*D : (i+1)*D]
				for e := t.start[i]; e < t.start[i+1]; e++ {
					k := int(t.idx[e])
					df := dot(Wd[k*D:k*D+D], gr)
					if arch == ReLU {
						df += lam
					}
					t.dval[e] = df
				}
			}
		})
		// Weight gradients, latent by latent, latents split between
		// workers.
		t.byLatent()
		parallel(F, func(lo, hi int) {
			for k := lo; k < hi; k++ {
				gwd, gwe := gWd[k*D:k*D+D], gWe[k*D:k*D+D]
				var gb T
				for q := t.colStart[k]; q < t.colStart[k+1]; q++ {
					e, i := t.colEnt[q], int(t.colRow[q])
					axpy2(t.val[e], t.r[i*D:(i+1)*D], gwd, t.dval[e], t.xb[i*D:(i+1)*D], gwe)
					gb += t.dval[e]
				}
				gBe[k] = gb
			}
		})
		if arch == JumpReLU {
			t.thresholdGrad(lambda, nil)
		}
	} else {
		t.tmpDF()
		t.gemm(true, false, D, F, n, 1, t.r, D, t.fa, F, 0, t.tmp, F)
		addTransposed(t.tmp, gWd, D, F)
		t.gemm(false, true, n, F, D, 1, t.r, D, Wd, D, 0, t.dz, F)
		if arch == JumpReLU {
			t.thresholdGrad(lambda, t.dz)
		}
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dz, f := t.dz[i*F:(i+1)*F], t.fa[i*F:(i+1)*F]
				if arch == ReLU {
					maskAdd(dz, f, lam)
					continue
				}
				for k := range dz {
					if f[k] == 0 {
						dz[k] = 0
					}
				}
			}
		})
		for i := 0; i < n; i++ {
			axpy(1, t.dz[i*F:(i+1)*F], gBe)
		}
		t.gemm(true, false, D, F, n, 1, t.xb, D, t.dz, F, 0, t.tmp, F)
		addTransposed(t.tmp, gWe, D, F)
	}
	if t.cfg.AuxK > 0 && (arch == TopK || arch == BatchTopK) {
		t.aux.backward(t)
	}
	// ∂b_d -= W_e^T ∂b_e.
	for k, v := range gBe {
		if v != 0 {
			axpy(-v, We[k*D:k*D+D], gBd)
		}
	}
}

// thresholdGrad adds the gradient of log θ (JumpReLU): with the rectangle
// kernel K(u) = 1 for |u| < 1/2, the paper's pseudo-derivatives are
// ∂f/∂θ = -(θ/ε) K((pre-θ)/ε) and ∂H(pre-θ)/∂θ = -(1/ε) K((pre-θ)/ε), and
// ∂/∂log θ = θ ∂/∂θ. df holds ∂loss/∂f for every (row, latent) (dense
// path), or nil: computed here where the kernel is non-zero.
func (t *trainer[T]) thresholdGrad(lambda float64, df []T) {
	n, D, F := t.n, t.d, t.f
	_, _, Wd, _ := t.params()
	eps := t.cfg.Bandwidth
	g := t.g[t.lt : t.lt+F]
	parallel(F, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			th := float64(t.theta(k))
			var sum float64
			for i := 0; i < n; i++ {
				u := (float64(t.pre[i*F+k]) - th) / eps
				if u <= -0.5 || u >= 0.5 {
					continue
				}
				var d float64
				if df != nil {
					d = float64(df[i*F+k])
				} else {
					d = float64(dot(Wd[k*D:k*D+D], t.r[i*D:(i+1)*D]))
				}
				sum += -th/eps*d - lambda/float64(n)/eps
			}
			g[k] = T(th * sum)
		}
	})
}

func (t *trainer[T]) tmpDF() {
	if len(t.tmp) != t.d*t.f {
		t.tmp = make([]T, t.d*t.f)
	}
}

// addTransposed adds src [D,F] transposed into dst [F,D].
func addTransposed[T num](src, dst []T, D, F int) {
	parallel(F, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			row := dst[k*D : (k+1)*D]
			for j := range row {
				row[j] += src[j*F+k]
			}
		}
	})
}

// step removes from each decoder row's gradient its component along the
// row, takes an Adam step with learning rate lr, then renormalizes the
// rows (Bricken et al. 2023, "Autoencoder" appendix).
func (t *trainer[T]) step(lr float64) {
	D := t.d
	_, _, Wd, _ := t.params()
	_, _, gWd, _ := t.grads()
	parallel(t.f, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			atom, ga := Wd[k*D:k*D+D], gWd[k*D:k*D+D]
			axpy(-dot(atom, ga), atom, ga)
		}
	})
	if err := t.opt.Step(t.p, t.g, lr); err != nil {
		panic(err) // p and g are sized with the optimizer
	}
	t.normalize()
}

func (t *trainer[T]) normalize() {
	D := t.d
	_, _, Wd, _ := t.params()
	parallel(t.f, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			atom := Wd[k*D : k*D+D]
			if n := math.Sqrt(float64(dot(atom, atom))); n > 0 {
				inv := T(1 / n)
				for j := range atom {
					atom[j] *= inv
				}
			}
		}
	})
}

// setEncoderBias sets every entry of b_e to v.
func (t *trainer[T]) setEncoderBias(v float64) {
	_, Be, _, _ := t.params()
	for k := range Be {
		Be[k] = T(v)
	}
}

// model copies the parameters out as an SAE.
func (t *trainer[T]) model() *SAE {
	d, F := t.d, t.f
	We, Be, Wd, Bd := t.params()
	s := &SAE{Architecture: t.cfg.Architecture, D: d, F: F,
		We: rows(We, F, d), Be: f64s(Be), Wd: rows(Wd, F, d), Bd: f64s(Bd)}
	switch t.cfg.Architecture {
	case TopK, BatchTopK:
		s.K = t.cfg.K
	}
	switch t.cfg.Architecture {
	case JumpReLU:
		s.Threshold = make([]float64, F)
		for k := range s.Threshold {
			s.Threshold[k] = float64(t.theta(k))
		}
	case BatchTopK:
		s.Threshold = make([]float64, F)
		for k := range s.Threshold {
			s.Threshold[k] = t.thr
		}
	}
	return s
}

func rows[T num](flat []T, n, m int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = f64s(flat[i*m : i*m+m])
	}
	return out
}

func f64s[T num](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

var _ gemmFunc[float32] = tensor.Gemm
