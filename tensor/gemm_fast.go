package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// This file holds a BLIS-style packed SGEMM. op(B) is cut into KC×NC
// panels, each packed once as NR-column slivers (contiguous, one step's NR
// values after another) and shared by every thread; each thread owns whole
// MR-row slivers of op(A), which the micro-kernel reads in place (direct
// kernels) or packed. For each A sliver the thread walks the panel's B
// slivers: the A sliver (MR×KC, 6 KB; 12 KB at gemmKCDeep) stays in L1,
// the panel (≤ 1 MB) streams from L2, and C is written along its rows. The micro-kernel
// computes an MR×NR tile of C and applies alpha and beta when it stores;
// edge tiles go through a scratch tile. Products above gemmParallelFlops
// are split over GOMAXPROCS goroutines: C is cut into blocks (of columns,
// else rows), each a one-thread product with panels of its own, which the
// goroutines claim in turn (gemmSplitC); only a C too small to cut has its
// panels packed together and multiplied by rows or columns, the threads
// meeting twice per panel.

const (
	gemmMR    = 6
	gemmNR    = 16 // columns of the generic and AVX2 micro-kernels
	gemmNRMax = 64 // widest micro-kernel (AVX-512)
	// gemmKC is the deepest panel: k is cut into equal panels of at most
	// gemmKC steps. An A sliver is then MR×KC floats (6 KB), in L1 beside
	// the B sliver streaming through. Measured on a Xeon (48 KB L1d, 2 MB
	// L2 per core): 128 and 192 lose 2-6% (C is read and written once per
	// panel), 384 and 512 lose up to 5% at 2048 (a smaller NC). On Zen 5
	// (48 KB L1d, 1 MB L2) KC 384 and 512 with panels of 0.5-1 MB were
	// within the noise (±5%) of 256 and 1 MB, so both are kept. gemmPanels
	// goes deeper on cores with a larger L2 (gemmPanelKC).
	gemmKC = 256
	// gemmKCDeep is gemmPanels' deepest panel on cores whose L2 holds at
	// least gemmL2Deep bytes. On an Emerald Rapids Xeon (48 KB L1d, 2 MB
	// L2) KC 512 with the same 1 MB panel (NC 512) was 1-3% faster than
	// KC 256 on one thread on every product of shape C and 1-4% on two
	// (C is read and written half as often; the A sliver, 12 KB, still
	// fits L1), while panels of 1.5 and 2 MB lost 3-25%.
	gemmKCDeep = 512
	gemmL2Deep = 2 << 20
	// gemmPanelFloats bounds a packed B panel (KC×NC): 1 MB, half of the
	// Xeon's 2 MB L2, leaving room for C and A's slivers; a 2 MB panel
	// measured 25% slower there (docs/PERFORMANCE.md).
	gemmPanelFloats = 1 << 18

	// gemmKCNarrow is the deepest panel of a product with at most
	// gemmNarrowN columns (Pythia's unembedding in blocks, W·Xᵀ
	// 8192×128×768): each A sliver then serves one or two tiles, and every
	// new sliver starts six streams from memory afresh, so longer slivers
	// (18 KB, still in L1) and one pass over C instead of three measured
	// 12% faster on one thread.
	gemmKCNarrow = 768
	gemmNarrowN  = 128

	// gemmParallelFlops is the m*n*k below which a product stays on the
	// calling goroutine (attention already calls Gemm from several).
	gemmParallelFlops = 1 << 22
)

// microKernel computes C[0:MR,0:NR] = alpha*Ap*Bp + beta*C over k packed
// steps, where Ap holds MR values and Bp NR values per step. With beta == 0
// C is not read. ldc is in elements.
type microKernel func(k int, a, b, c *float32, ldc int, alpha, beta float32)

// gemmKernel is a micro-kernel and its tile width NR (MR is always gemmMR).
type gemmKernel struct {
	fn microKernel
	nr int
	// direct, if not nil, is fn reading MR unpacked rows of A, lda
	// elements apart; it spares packing A when A is not transposed. (A
	// transposed A is packed: read in place, a sliver's kc rows of A lie lda
	// apart and, for lda a power of two, fight over two L1 sets.)
	direct directKernel
	// directT, if not nil, is fn reading A transposed in place: a step's
	// MR values contiguous, the steps lda elements apart. It is taken for
	// slivers of at most gemmStridedKC steps only (see gemmBlock).
	directT directKernel
	// directB, if not nil, is direct reading B in place too: k rows of NR
	// values, ldb elements apart (see gemmDirectB).
	directB directBKernel
	// speed is the kernel's share of the FMA peak on one tile
	// (BenchmarkKernelTile): kernelSet.pick weighs it against padding.
	speed float64
}

// The AVX-512 tiles' share of the FMA peak alone (BenchmarkKernelTile,
// k = 256), which kernelSet.pick weighs against the columns each would
// compute in vain.
const (
	speed6x64 = 0.89
	speed6x32 = 0.84
	speed6x16 = 0.65
)

// kernelSet is the micro-kernels of one instruction set, widest first.
type kernelSet []gemmKernel

// pick returns the kernel that computes n columns fastest: the fewest
// tile columns (n rounded up to its NR; the padding is computed and thrown
// away) per unit of speed. A head's 32 columns take the 6×32 tile, not
// half of a 6×64 one.
func (ks kernelSet) pick(n int) gemmKernel {
	best, bestCost := ks[0], 0.0
	for i, k := range ks {
		cost := float64(roundUp(n, k.nr)) / k.speed
		if i == 0 || cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best
}

// directKernel is a microKernel whose A is MR rows of k values, lda apart.
type directKernel func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

var genericKernel = gemmKernel{kernelGeneric, gemmNR, nil, nil, nil, 1}

// directBKernel is a directKernel whose B is k rows of NR values, ldb
// elements apart.
type directBKernel func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// gemmPanel is a packed B panel, shared by the threads of one product, and
// a packed A panel (a transposed A's rows over one panel of k).
type gemmPanel struct{ a, b []float32 }

// gemmPackedAFloats bounds a transposed A packed whole for one panel of k
// (packATPanel): 8 MB, m ≤ 8192 at KC = 256 (4096 at gemmKCDeep); larger
// A's are packed sliver by sliver for each panel of B.
const gemmPackedAFloats = 1 << 21

// gemmWork is one thread's scratch: a packed A sliver, a packed B sliver
// (gemmDirectB's ragged last) and an edge tile.
type gemmWork struct {
	a, b []float32
	tmp  [gemmMR * gemmNRMax]float32
}

var (
	panelPool = sync.Pool{New: func() any { return new(gemmPanel) }}
	workPool  = sync.Pool{New: func() any { return new(gemmWork) }}
)

// fastGemm is the packed kernel with the best micro-kernel for this CPU.
func fastGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if swapTransB(transA, transB, m, n, k) {
		gemmSwapped(bestKernels.pick(m), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	kern := bestKernels.pick(n)
	if kern.directB != nil && !transA && !transB && m <= gemmDirectBRows && ldb%gemmDirectBAlias != 0 {
		gemmDirectB(kern, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmParallel(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// genericGemm is the packed kernel with the portable Go micro-kernel.
func genericGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if swapTransB(transA, transB, m, n, k) {
		gemmSwapped(genericKernel, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmParallel(genericKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// swapTransB reports whether C = A·Bᵀ is cheaper as Cᵀ = B·Aᵀ (see
// gemmSwapped): packing Bᵀ transposes its n·k values one by one, while
// the swapped product reads B in place and transposes only A (m·k) and the
// result (m·n). With few rows (a forward pass on 128 tokens through a
// weight stored [out,in]: m·(k+n) = 0.4M against n·k = 1.8M for Pythia's
// QKV) the weight's transposition was most of the product's time.
func swapTransB(transA, transB bool, m, n, k int) bool {
	return transB && !transA && 2*m*(k+n) < n*k && m*n*k >= gemmParallelFlops
}

// swapPool holds scratch C's: gemmSwapped's Cᵀ and gemmSplitK's partial sums.
var swapPool = sync.Pool{New: func() any { return new([]float32) }}

// gemmSwapped computes C = alpha·A·Bᵀ + beta·C as T = B·Aᵀ (n×m, B's rows
// read in place as the product's A, A packed as its Bᵀ), then C = Tᵀ +
// beta·C. A is packed once, every panel of k, and shared; T is computed in
// blocks of its rows (gemmSwapRows floats), each transposed into its
// columns of C while it is in L2, the blocks claimed in turn by the
// threads. (T whole, 25 MB for Pythia's unembedding, was transposed from
// memory into C's rows 200 KB apart: a quarter of the product's time.)
func gemmSwapped(kern gemmKernel, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	nr := kern.nr
	panels := (k + gemmKC - 1) / gemmKC
	kcMax := (k + panels - 1) / panels
	mp := roundUp(m, nr) // the packed width of Aᵀ
	if mp*k > gemmSwapPackFloats {
		gemmSwappedWhole(kern, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	panel := panelPool.Get().(*gemmPanel)
	defer panelPool.Put(panel)
	bp := growBuf(&panel.b, mp*k)
	for pc := 0; pc < k; pc += kcMax {
		packB(true, nr, min(kcMax, k-pc), m, a, lda, pc, 0, bp[pc*mp:])
	}
	rows := max(gemmMR, gemmSwapRows/m/gemmMR*gemmMR)
	chunks := (n + rows - 1) / rows
	procs := min(runtime.GOMAXPROCS(0), chunks)
	if m*n*k < gemmParallelFlops {
		procs = 1
	}
	var next atomic.Int64
	work := func() {
		buf := swapPool.Get().(*[]float32)
		defer swapPool.Put(buf)
		t := growBuf(buf, rows*m)
		for {
			i := int(next.Add(1)) - 1
			if i >= chunks {
				return
			}
			j0, j1 := i*rows, min((i+1)*rows, n)
			tc := t[:(j1-j0)*m]
			for pc := 0; pc < k; pc += kcMax {
				bet := float32(1)
				if pc == 0 {
					bet = 0
				}
				gemmBlock(kern, false, 0, j1-j0, 0, m, min(kcMax, k-pc), alpha, b[j0*ldb:], ldb, pc, nil, bp[pc*mp:], bet, tc, m)
			}
			transposeInto(0, m, j1-j0, tc, beta, c[j0:], ldc)
		}
	}
	var g parallel.Group
	for range procs - 1 {
		g.Go(work)
	}
	work()
	g.Wait()
}

// gemmSwapPackFloats bounds A packed whole for gemmSwapped (4 MB);
// gemmSwapRows is the floats of one block of T (256 KB, in L2 with the
// packed A).
const (
	gemmSwapPackFloats = 1 << 20
	gemmSwapRows       = 1 << 16
)

// gemmSwappedWhole is gemmSwapped for an A too large to pack whole: T
// computed whole, then transposed into C by rows of C on the threads.
func gemmSwappedWhole(kern gemmKernel, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	buf := swapPool.Get().(*[]float32)
	defer swapPool.Put(buf)
	t := growBuf(buf, n*m)
	gemmParallel(kern, false, true, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
	procs := min(runtime.GOMAXPROCS(0), (m+15)/16)
	if procs == 1 {
		transposeInto(0, m, n, t, beta, c, ldc)
		return
	}
	var g parallel.Group
	for p := range procs {
		i0, i1 := p*m/procs, (p+1)*m/procs
		g.Go(func() { transposeInto(i0, i1, n, t, beta, c, ldc) })
	}
	g.Wait()
}

// transposeInto sets rows [i0,i1) of C (n columns) to Tᵀ + beta·C, where T
// is n×m with rows m apart; C is not read when beta is 0. Blocks of 16×16
// keep T's lines in L1 while C's rows take their values.
func transposeInto(i0, i1, n int, t []float32, beta float32, c []float32, ldc int) {
	m := len(t) / n
	for j0 := 0; j0 < n; j0 += 16 {
		j1 := min(j0+16, n)
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			if beta == 0 {
				for j := range row {
					row[j] = t[(j0+j)*m+i]
				}
				continue
			}
			for j := range row {
				row[j] = t[(j0+j)*m+i] + beta*row[j]
			}
		}
	}
}

// gemmParallel runs the product on up to GOMAXPROCS goroutines (one below
// gemmParallelFlops): a small C over a long k split over k (gemmSplitK), a
// C large enough cut into independent blocks (gemmSplitC), else for each
// KC×NC panel of op(B) the goroutines pack a share of its slivers each,
// wait for one another, then multiply: each its own rows of C when there
// are at least gemmSplitSlivers A slivers per goroutine, else each its own
// B slivers.
func gemmParallel(kern gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if m*n*k < gemmParallelFlops {
		procs = 1
	}
	if procs > 1 && m*n <= gemmSplitKArea && k >= gemmSplitKSteps*procs {
		gemmSplitK(kern, procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmPanels(kern, procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// A product with a small C and a long k (a weight gradient of few rows and
// columns over many tokens: Aᵀ·B 128×128×4096 at shape A) is split over k
// rather than over C's rows: cut by rows, each of its 16 panels made the
// threads meet twice for 20 µs of work each.
const (
	gemmSplitKArea  = 1 << 16 // the largest m·n split over k
	gemmSplitKSteps = 1024    // the fewest steps of k per thread
)

// gemmSplitK gives each of procs goroutines an equal share of k: the first
// accumulates into C (with beta), the others into scratch C's of their own,
// added into C at the end. The sums are then in a different order than on
// one thread (rounding differs, not the result's accuracy).
func gemmSplitK(kern gemmKernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	bufs := make([]*[]float32, procs)
	var g parallel.Group
	for t := range procs {
		k0, k1 := t*k/procs, (t+1)*k/procs
		ao, bo := k0, k0*ldb
		if transA {
			ao = k0 * lda
		}
		if transB {
			bo = k0
		}
		if t == 0 {
			g.Go(func() {
				gemmPanels(kern, 1, transA, transB, m, n, k1-k0, alpha, a[ao:], lda, b[bo:], ldb, beta, c, ldc)
			})
			continue
		}
		bufs[t] = swapPool.Get().(*[]float32)
		part := growBuf(bufs[t], m*n)
		g.Go(func() { gemmPanels(kern, 1, transA, transB, m, n, k1-k0, alpha, a[ao:], lda, b[bo:], ldb, 0, part, n) })
	}
	g.Wait()
	for t := 1; t < procs; t++ {
		part := (*bufs[t])[:m*n]
		for i := range m {
			row, src := c[i*ldc:i*ldc+n], part[i*n:i*n+n]
			for j := range row {
				row[j] += src[j]
			}
		}
		swapPool.Put(bufs[t])
	}
}

// gemmPanels is gemmParallel on procs goroutines.
func gemmPanels(kern gemmKernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nr := kern.nr
	kcLimit := gemmPanelKC
	if n <= gemmNarrowN {
		kcLimit = gemmKCNarrow
	}
	panels := (k + kcLimit - 1) / kcLimit
	kcMax := (k + panels - 1) / panels // equal panels
	ncMax := max(nr, gemmPanelFloats/kcMax/nr*nr)
	if procs > 1 && gemmSplitC(kern, procs, ncMax, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	panel := panelPool.Get().(*gemmPanel)
	defer panelPool.Put(panel)
	if procs == 1 && transA && kcMax > gemmStridedKC && m*kcMax <= gemmPackedAFloats {
		// A transposed A is packed once per panel of k, all its rows,
		// and serves every panel of columns.
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			ap := growBuf(&panel.a, roundUp(m, gemmMR)*kc)
			packATPanel(m, kc, a, lda, pc, ap)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for jc := 0; jc < n; jc += ncMax {
				nc := min(ncMax, n-jc)
				bp := growBuf(&panel.b, kc*roundUp(nc, nr))
				packB(transB, nr, kc, nc, b, ldb, pc, jc, bp)
				gemmBlock(kern, transA, 0, m, 0, nc, kc, alpha, a, lda, pc, ap, bp, bet, c[jc:], ldc)
			}
		}
		return
	}
	var g parallel.Group // re-raises a worker's panic on this goroutine
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		slivers := (nc + nr - 1) / nr
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			bp := growBuf(&panel.b, kc*slivers*nr)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			cp := c[jc:]
			if procs == 1 {
				packB(transB, nr, kc, nc, b, ldb, pc, jc, bp)
				gemmBlock(kern, transA, 0, m, 0, nc, kc, alpha, a, lda, pc, nil, bp, bet, cp, ldc)
				continue
			}
			parts := min(procs, slivers)
			for t := range parts {
				s0, s1 := t*slivers/parts, (t+1)*slivers/parts
				g.Go(func() {
					packB(transB, nr, kc, min(s1*nr, nc)-s0*nr, b, ldb, pc, jc+s0*nr, bp[s0*nr*kc:])
				})
			}
			g.Wait()
			if mSlivers := (m + gemmMR - 1) / gemmMR; mSlivers >= gemmSplitSlivers*procs || mSlivers >= slivers {
				parts := min(procs, mSlivers)
				for t := range parts {
					i0, i1 := t*mSlivers/parts*gemmMR, min((t+1)*mSlivers/parts*gemmMR, m)
					g.Go(func() { gemmBlock(kern, transA, i0, i1, 0, nc, kc, alpha, a, lda, pc, nil, bp, bet, cp, ldc) })
				}
			} else {
				for t := range parts {
					j0, j1 := t*slivers/parts*nr, min((t+1)*slivers/parts*nr, nc)
					g.Go(func() { gemmBlock(kern, transA, 0, m, j0, j1, kc, alpha, a, lda, pc, nil, bp, bet, cp, ldc) })
				}
			}
			g.Wait()
		}
	}
}

// gemmSplitCols is the fewest columns of C per goroutine for which
// gemmSplitC cuts C by columns.
const gemmSplitCols = 256

// gemmSplitC computes the product as independent blocks of C, each a
// one-thread product with panels of its own, claimed by procs goroutines
// in turn: the threads never wait for one another within the product
// (a barrier per panel made each wait for the slower, and a core taken by
// another process stalled both). C is cut by columns when each goroutine
// gets at least gemmSplitCols (into chunks no wider than a panel, so that
// A is packed, when it is, no more often than on one thread), else by rows
// (each block packs all of B) when each gets gemmSplitSlivers A slivers.
// A transposed A is cut by rows whenever it can be: each thread then packs
// only its own rows of A, which costs more than packing B twice.
// It reports false, computing nothing, when C is too small for either.
func gemmSplitC(kern gemmKernel, procs, ncMax int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	nr := kern.nr
	var chunks int
	var block func(i int)
	nSlivers, mSlivers := (n+nr-1)/nr, (m+gemmMR-1)/gemmMR
	rows := mSlivers >= gemmSplitSlivers*procs
	switch {
	case n >= gemmSplitCols*procs && !(transA && rows):
		chunks = roundUp((n+ncMax-1)/ncMax, procs)
		chunks = min(chunks, nSlivers)
		block = func(i int) {
			j0, j1 := i*nSlivers/chunks*nr, min((i+1)*nSlivers/chunks*nr, n)
			bo := j0
			if transB {
				bo = j0 * ldb
			}
			gemmPanels(kern, 1, transA, transB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
		}
	case rows:
		chunks = procs
		block = func(i int) {
			i0, i1 := i*mSlivers/chunks*gemmMR, min((i+1)*mSlivers/chunks*gemmMR, m)
			ao := i0 * lda
			if transA {
				ao = i0
			}
			gemmPanels(kern, 1, transA, transB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
		}
	default:
		return false
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= chunks {
				return
			}
			block(i)
		}
	}
	var g parallel.Group
	for range procs - 1 {
		g.Go(work)
	}
	work()
	g.Wait()
	return true
}

// gemmDirectBRows is the most rows of A for which gemmDirectB reads B in
// place rather than packing it: with few rows each packed B value would
// serve only those rows, and packing cost up to a fifth of a 128-row
// product.
const gemmDirectBRows = 192

// gemmDirectBAlias: B is packed, not read in place, when its row stride is
// a multiple of this many floats (2 KB): a sliver's kc rows then fall in
// at most 1/32 of the L2's sets and evict one another (measured at
// ldb = 3072: 1.5x the CPU time of packing).
const gemmDirectBAlias = 512

// gemmDirectB computes C = alpha·A·B + beta·C (neither transposed) with A's
// rows and B's rows read in place by kern.directB: no panel is packed, so
// the threads need not meet; each takes its own columns of B and C (its
// own part of the weight, for a layer's forward pass). The ragged last
// sliver of rows and of columns is copied into scratch.
func gemmDirectB(kern gemmKernel, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	nr := kern.nr
	slivers := (n + nr - 1) / nr
	parts := min(runtime.GOMAXPROCS(0), slivers)
	if m*n*k < gemmParallelFlops {
		parts = 1
	}
	if parts == 1 {
		directBBlock(kern, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var g parallel.Group
	for t := range parts {
		j0, j1 := t*slivers/parts*nr, min((t+1)*slivers/parts*nr, n)
		g.Go(func() { directBBlock(kern, m, j0, j1, k, alpha, a, lda, b, ldb, beta, c, ldc) })
	}
	g.Wait()
}

// directBBlock is gemmDirectB on columns [j0,j1) (j0 a multiple of NR): for
// each panel of at most gemmKC steps and each NR-column sliver of B, every
// 6-row sliver of A, so that the B sliver (≤ 64 KB) stays in L1-L2.
func directBBlock(kern gemmKernel, m, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := workPool.Get().(*gemmWork)
	defer workPool.Put(w)
	nr := kern.nr
	panels := (k + gemmKC - 1) / gemmKC
	kcMax := (k + panels - 1) / panels
	for pc := 0; pc < k; pc += kcMax {
		kc := min(kcMax, k-pc)
		bet := beta
		if pc > 0 {
			bet = 1
		}
		for jr := j0; jr < j1; jr += nr {
			cols := min(nr, j1-jr)
			bs, lbs := b[pc*ldb+jr:(pc+kc-1)*ldb+jr+cols], ldb
			if cols < nr {
				// The ragged last sliver, zero-padded: B's row ends here.
				bs, lbs = growBuf(&w.b, kc*nr), nr
				for p := range kc {
					copy(bs[p*nr:p*nr+cols], b[(pc+p)*ldb+jr:(pc+p)*ldb+jr+cols])
					clear(bs[p*nr+cols : p*nr+nr])
				}
			}
			for ir := 0; ir < m; ir += gemmMR {
				mr := min(gemmMR, m-ir)
				var as []float32
				las := lda
				if mr == gemmMR {
					as = a[ir*lda+pc : (ir+gemmMR-1)*lda+pc+kc]
				} else {
					// The ragged last rows, as six rows of kc (zero-padded).
					as, las = growBuf(&w.a, gemmMR*kc), kc
					for r := range gemmMR {
						if r < mr {
							copy(as[r*kc:r*kc+kc], a[(ir+r)*lda+pc:])
						} else {
							clear(as[r*kc : r*kc+kc])
						}
					}
				}
				if mr == gemmMR && cols == nr {
					cs := c[ir*ldc+jr : (ir+gemmMR-1)*ldc+jr+nr]
					kern.directB(kc, &as[0], las, &bs[0], lbs, &cs[0], ldc, alpha, bet)
					continue
				}
				kern.directB(kc, &as[0], las, &bs[0], lbs, &w.tmp[0], nr, 1, 0)
				mergeTile(mr, cols, nr, alpha, bet, &w.tmp, c[ir*ldc+jr:], ldc)
			}
		}
	}
}

// gemmStridedKC is the deepest sliver of a transposed A read in place (a
// kernel's directT) rather than packed: up to 64 lines, which fit L1's
// sets even with lda a power of two, and packing costs most against the
// few tiles of a shallow product (a head's weight gradient, k = 32).
const gemmStridedKC = 64

// gemmSplitSlivers is the A slivers per goroutine below which a product is
// split by columns rather than rows.
const gemmSplitSlivers = 4

// gemmBlock multiplies rows [i0,i1) of op(A)[:, pc:pc+kc] by columns
// [j0,j1) of the packed panel bp (kc steps; j0 a multiple of NR) into C,
// which starts at the panel's first column. i0 is a multiple of MR.
func gemmBlock(kern gemmKernel, transA bool, i0, i1, j0, j1, kc int, alpha float32, a []float32, lda, pc int, ap, bp []float32, beta float32, c []float32, ldc int) {
	w := workPool.Get().(*gemmWork)
	defer workPool.Put(w)
	nrK := kern.nr
	dfn := kern.direct
	if transA {
		dfn = nil
		if kc <= gemmStridedKC {
			dfn = kern.directT
		}
	}
	if ap != nil {
		dfn = nil
	}
	for ir := i0; ir < i1; ir += gemmMR {
		mr := min(gemmMR, i1-ir)
		var as []float32
		direct := dfn != nil && mr == gemmMR
		switch {
		case direct && transA:
			as = a[pc*lda+ir : pc*lda+ir+(kc-1)*lda+gemmMR]
		case direct:
			// Full slivers are read in place.
			as = a[ir*lda+pc : ir*lda+pc+(gemmMR-1)*lda+kc]
		case ap != nil:
			// Packed already, all of the panel's rows (packATPanel).
			as = ap[ir*kc : ir*kc+kc*gemmMR]
		default:
			as = growBuf(&w.a, kc*gemmMR)
			packA(transA, mr, kc, a, lda, ir, pc, as)
		}
		for jr := j0; jr < j1; jr += nrK {
			nr := min(nrK, j1-jr)
			bs := bp[jr*kc : jr*kc+kc*nrK]
			cs, ldt, al, bet := &w.tmp[0], nrK, float32(1), float32(0)
			if mr == gemmMR && nr == nrK {
				cs, ldt, al, bet = &c[ir*ldc+jr : ir*ldc+jr+(gemmMR-1)*ldc+nrK][0], ldc, alpha, beta
			}
			if direct {
				dfn(kc, &as[0], lda, &bs[0], cs, ldt, al, bet)
			} else {
				kern.fn(kc, &as[0], &bs[0], cs, ldt, al, bet)
			}
			if cs == &w.tmp[0] {
				mergeTile(mr, nr, nrK, alpha, beta, &w.tmp, c[ir*ldc+jr:], ldc)
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

func growBuf(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// scaleC sets C = beta*C, overwriting (not scaling) when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] as MR-row slivers: sliver s holds,
// for each p, the MR values op(A)[ic+s*MR+r, pc+p]; missing rows are zero.
func packA(transA bool, mc, kc int, a []float32, lda, ic, pc int, dst []float32) {
	for s := 0; s < mc; s += gemmMR {
		rows := min(gemmMR, mc-s)
		d := dst[s*kc : s*kc+kc*gemmMR]
		if transA {
			// op(A)[i,p] = a[p*lda+i]: each p has the sliver's rows contiguous.
			base := pc*lda + ic + s
			if rows == gemmMR {
				for p := 0; p < kc; p++ {
					src := (*[gemmMR]float32)(a[base+p*lda : base+p*lda+gemmMR])
					dp := (*[gemmMR]float32)(d[p*gemmMR : p*gemmMR+gemmMR])
					dp[0], dp[1], dp[2] = src[0], src[1], src[2]
					dp[3], dp[4], dp[5] = src[3], src[4], src[5]
				}
			} else {
				for p := 0; p < kc; p++ {
					src := a[base+p*lda : base+p*lda+rows]
					dp := d[p*gemmMR : p*gemmMR+gemmMR]
					copy(dp, src)
					clear(dp[rows:])
				}
			}
			continue
		}
		// op(A)[i,p] = a[i*lda+p]: each row is contiguous in p.
		if rows == gemmMR {
			base := (ic+s)*lda + pc
			r0 := a[base : base+kc]
			r1 := a[base+lda : base+lda+kc]
			r2 := a[base+2*lda : base+2*lda+kc]
			r3 := a[base+3*lda : base+3*lda+kc]
			r4 := a[base+4*lda : base+4*lda+kc]
			r5 := a[base+5*lda : base+5*lda+kc]
			for p := range r0 {
				dp := (*[gemmMR]float32)(d[p*gemmMR : p*gemmMR+gemmMR])
				dp[0], dp[1], dp[2] = r0[p], r1[p], r2[p]
				dp[3], dp[4], dp[5] = r3[p], r4[p], r5[p]
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(ic+s+r)*lda+pc : (ic+s+r)*lda+pc+kc]
			for p, v := range src {
				d[p*gemmMR+r] = v
			}
		}
		for r := rows; r < gemmMR; r++ {
			for p := 0; p < kc; p++ {
				d[p*gemmMR+r] = 0
			}
		}
	}
}

// packATPanel packs op(A)[0:m, pc:pc+kc] of a transposed A (op(A)[i,p] =
// a[p*lda+i]) as MR-row slivers, as packA does, for all m rows at once:
// each of A's rows is read along its length, in blocks of gemmPackSteps
// rows of A so that the lines being read stay in L1 while every sliver
// takes its six values from them (sliver by sliver, a deep sliver's kc
// lines lda apart fell in two L1 sets and were fetched again from L2 for
// each of the next slivers).
func packATPanel(m, kc int, a []float32, lda, pc int, dst []float32) {
	full := m / gemmMR * gemmMR
	if full > 0 {
		// The last value each reads and writes, checked here for packAT6.
		_ = a[(pc+kc-1)*lda+full-1]
		_ = dst[(full-gemmMR)*kc+kc*gemmMR-1]
		for p0 := 0; p0 < kc; p0 += gemmPackSteps {
			p1 := min(p0+gemmPackSteps, kc)
			packAT6Fn(full/gemmMR, p1-p0, &a[(pc+p0)*lda], lda, &dst[p0*gemmMR], kc*gemmMR)
		}
	}
	if full < m {
		packA(true, m-full, kc, a, lda, full, pc, dst[full*kc:])
	}
}

// gemmPackSteps is the rows of a transposed A that packATPanel reads
// together: 16 lines per sliver, which fit two L1 sets' 24 ways.
const gemmPackSteps = 16

// packB packs op(B)[pc:pc+kc, jc:jc+nc] as nr-column slivers: sliver s holds,
// for each p, the NR values op(B)[pc+p, jc+s*NR+j]; missing columns are zero.
func packB(transB bool, nr, kc, nc int, b []float32, ldb, pc, jc int, dst []float32) {
	for s := 0; s < nc; s += nr {
		cols := min(nr, nc-s)
		d := dst[s*kc : s*kc+kc*nr]
		if !transB {
			// op(B)[p,j] = b[p*ldb+j]: each p has the sliver's columns contiguous.
			base := pc*ldb + jc + s
			switch {
			case cols == 64 && nr == 64:
				_ = b[base+(kc-1)*ldb+63] // the last value copyRows64 reads
				_ = d[kc*64-1]
				copyRows64Fn(kc, &b[base], ldb, &d[0])
			case cols == 16 && nr == 16:
				for p := 0; p < kc; p++ {
					*(*[16]float32)(d[p*16 : p*16+16]) = *(*[16]float32)(b[base+p*ldb : base+p*ldb+16])
				}
			default:
				for p := 0; p < kc; p++ {
					src := b[base+p*ldb : base+p*ldb+cols]
					dp := d[p*nr : p*nr+nr]
					copy(dp, src)
					clear(dp[cols:])
				}
			}
			continue
		}
		// op(B)[p,j] = b[j*ldb+p]: each column is contiguous in p. Blocks
		// of 16 steps keep the sliver's rows being written (16 of them, 4 KB
		// at NR = 64) in L1; whole columns at a time would sweep the 64 KB
		// sliver once per column.
		// Whole blocks of 16 columns by 16 steps are transposed in registers
		// (packBT16, where AVX-512 runs); the rest one value at a time.
		p16, j16 := 0, 0
		if packBT16Fn != nil {
			p16, j16 = kc/16*16, cols/16*16
		}
		if p16 > 0 {
			for j0 := 0; j0 < j16; j0 += 16 {
				src := (jc+s+j0)*ldb + pc
				_ = b[src+15*ldb+p16-1] // the last value it reads
				_ = d[(p16-1)*nr+j0+15]
				packBT16Fn(p16/16, &b[src], ldb, &d[j0], nr)
			}
		} else {
			j16 = 0
		}
		for p0 := 0; p0 < kc; p0 += 16 {
			p1 := min(p0+16, kc)
			j0 := j16
			if p0 >= p16 {
				j0 = 0
			}
			for j := j0; j < cols; j++ {
				src := b[(jc+s+j)*ldb+pc+p0 : (jc+s+j)*ldb+pc+p1]
				for p, v := range src {
					d[(p0+p)*nr+j] = v
				}
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// mergeTile sets C[0:mr,0:nr] = alpha*T + beta*C for the scratch tile T
// (rows nrK apart); C is not read when beta is 0.
func mergeTile(mr, nr, nrK int, alpha, beta float32, tmp *[gemmMR * gemmNRMax]float32, c []float32, ldc int) {
	for i := 0; i < mr; i++ {
		storeRow(c[i*ldc:i*ldc+nr], tmp[i*nrK:i*nrK+nr], alpha, beta)
	}
}

// GemmPaths names the kernels MECHINTERP_GEMM selects, for tests that run
// under each (see GemmPath): "gonum", "fast" (packed, the assembly
// micro-kernel where it is built, else its Go twin) and "generic" (packed,
// the portable 6×16 Go micro-kernel).
var GemmPaths = []string{"fast", "generic", "gonum"}

// GemmPath returns the kernel named name (one of GemmPaths), or false.
// Hand it to SetGemm to run a test under it.
func GemmPath(name string) (GemmFunc, bool) {
	switch name {
	case "gonum":
		return gonumGemm, true
	case "fast":
		return fastGemm, true
	case "generic":
		return genericGemm, true
	}
	return nil, false
}

// selectGemm returns the kernel named by MECHINTERP_GEMM (see GemmPaths).
// Anything else gives the default: the packed kernel where the assembly
// micro-kernel runs, else gonum (whose own assembly beats the portable
// micro-kernel).
func selectGemm(name string) GemmFunc {
	if f, ok := GemmPath(name); ok {
		return f
	}
	if len(asmKernels) > 0 {
		return fastGemm
	}
	return gonumGemm
}

// bestKernels is the fastest kernel set this CPU runs: the assembly
// kernels, else the Go twins of the AVX-512 set (which take every path of
// the macro-kernel that the assembly takes).
var bestKernels = func() kernelSet {
	if len(asmSet) > 0 {
		return asmSet
	}
	return goKernels
}()
