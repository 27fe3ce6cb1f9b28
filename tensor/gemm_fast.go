package tensor

import (
	"runtime"
	"sync"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// This file holds a BLIS-style packed SGEMM. op(A) is cut into MC×KC blocks
// packed as MR-row slivers, op(B) into KC×NC panels packed as NR-column
// slivers, so the micro-kernel sees one contiguous layout whatever the
// transposes and strides. The micro-kernel computes an MR×NR tile of C and
// applies alpha and beta when it stores; edge tiles go through a scratch
// tile. Large problems are split over GOMAXPROCS goroutines along the longer
// of m and n.

const (
	gemmMR    = 6
	gemmNR    = 16 // columns of the generic and AVX2 micro-kernels
	gemmNRMax = 32 // widest micro-kernel (AVX-512)
	gemmKC    = 256
	gemmMC    = 144
	gemmNC    = 4096

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
	// elements apart; it spares packing A when A is not transposed.
	direct directKernel
	// directT, if not nil, is fn reading a transposed A in place: the MR
	// values of step p are contiguous, steps lda elements apart.
	directT directKernel
}

// directKernel is a microKernel whose A is MR rows of k values, lda apart.
type directKernel func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

var genericKernel = gemmKernel{kernelGeneric, gemmNR, nil, nil}

type gemmBufs struct {
	a, b []float32
	tmp  [gemmMR * gemmNRMax]float32
}

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

// fastGemm is the packed kernel with the best micro-kernel for this CPU.
func fastGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmParallel(bestKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// genericGemm is the packed kernel with the portable Go micro-kernel.
func genericGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmParallel(genericKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmParallel(kern gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 || m*n*k < gemmParallelFlops {
		gemmSerial(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var g parallel.Group // re-raises a worker's panic on this goroutine
	if m >= n {
		// Split rows of op(A) and C, in whole MR slivers.
		parts := min(procs, (m+gemmMR-1)/gemmMR)
		step := roundUp((m+parts-1)/parts, gemmMR)
		for i0 := 0; i0 < m; i0 += step {
			rows := min(step, m-i0)
			aOff := i0 * lda
			if transA {
				aOff = i0
			}
			g.Go(func() {
				gemmSerial(kern, transA, transB, rows, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[i0*ldc:], ldc)
			})
		}
	} else {
		parts := min(procs, (n+kern.nr-1)/kern.nr)
		step := roundUp((n+parts-1)/parts, kern.nr)
		for j0 := 0; j0 < n; j0 += step {
			cols := min(step, n-j0)
			bOff := j0
			if transB {
				bOff = j0 * ldb
			}
			g.Go(func() {
				gemmSerial(kern, transA, transB, m, cols, k, alpha, a, lda, b[bOff:], ldb, beta, c[j0:], ldc)
			})
		}
	}
	g.Wait()
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

func gemmSerial(kern gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	bufs := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(bufs)
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			bp := growBuf(&bufs.b, kc*roundUp(nc, kern.nr))
			packB(transB, kern.nr, kc, nc, b, ldb, pc, jc, bp)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				dfn := kern.direct
				if transA {
					dfn = kern.directT
				}
				if dfn != nil {
					// Full slivers read A in place; a ragged last sliver is packed.
					full := mc / gemmMR * gemmMR
					var ap []float32
					if full < mc {
						ap = growBuf(&bufs.a, kc*gemmMR)
						packA(transA, mc-full, kc, a, lda, ic+full, pc, ap)
					}
					off, rowStep, span := ic*lda+pc, lda, (gemmMR-1)*lda+kc
					if transA {
						off, rowStep, span = pc*lda+ic, 1, (kc-1)*lda+gemmMR
					}
					aBlk := a[off:]
					macroKernelDirect(dfn, kern, mc, nc, kc, alpha, aBlk, lda, rowStep, span, ap, bp, bet, c[ic*ldc+jc:], ldc, &bufs.tmp)
					continue
				}
				ap := growBuf(&bufs.a, kc*roundUp(mc, gemmMR))
				packA(transA, mc, kc, a, lda, ic, pc, ap)
				macroKernel(kern, mc, nc, kc, alpha, ap, bp, bet, c[ic*ldc+jc:], ldc, &bufs.tmp)
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
			case cols == 32 && nr == 32:
				for p := 0; p < kc; p++ {
					*(*[32]float32)(d[p*32 : p*32+32]) = *(*[32]float32)(b[base+p*ldb : base+p*ldb+32])
				}
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
		// op(B)[p,j] = b[j*ldb+p]: each column is contiguous in p.
		for j := 0; j < cols; j++ {
			src := b[(jc+s+j)*ldb+pc : (jc+s+j)*ldb+pc+kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// macroKernel multiplies a packed mc×kc block of A by a packed kc×nc panel
// of B into C (which starts at the block's corner).
func macroKernel(kern gemmKernel, mc, nc, kc int, alpha float32, ap, bp []float32, beta float32, c []float32, ldc int, tmp *[gemmMR * gemmNRMax]float32) {
	nrK, fn := kern.nr, kern.fn
	for jr := 0; jr < nc; jr += nrK {
		nr := min(nrK, nc-jr)
		bs := bp[jr*kc : jr*kc+kc*nrK]
		for ir := 0; ir < mc; ir += gemmMR {
			mr := min(gemmMR, mc-ir)
			as := ap[ir*kc : ir*kc+kc*gemmMR]
			if mr == gemmMR && nr == nrK {
				cs := c[ir*ldc+jr : ir*ldc+jr+(gemmMR-1)*ldc+nrK]
				fn(kc, &as[0], &bs[0], &cs[0], ldc, alpha, beta)
				continue
			}
			fn(kc, &as[0], &bs[0], &tmp[0], nrK, 1, 0)
			mergeTile(mr, nr, nrK, alpha, beta, tmp, c[ir*ldc+jr:], ldc)
		}
	}
}

// macroKernelDirect is macroKernel with A read in place by dfn (a starts at
// the block's corner, sliver i at a[i*MR*rowStep:], span elements long) for
// full slivers; ap holds the packed ragged last sliver.
func macroKernelDirect(dfn directKernel, kern gemmKernel, mc, nc, kc int, alpha float32, a []float32, lda, rowStep, span int, ap, bp []float32, beta float32, c []float32, ldc int, tmp *[gemmMR * gemmNRMax]float32) {
	nrK, fn := kern.nr, kern.fn
	full := mc / gemmMR * gemmMR
	for jr := 0; jr < nc; jr += nrK {
		nr := min(nrK, nc-jr)
		bs := bp[jr*kc : jr*kc+kc*nrK]
		for ir := 0; ir < full; ir += gemmMR {
			as := a[ir*rowStep : ir*rowStep+span]
			if nr == nrK {
				cs := c[ir*ldc+jr : ir*ldc+jr+(gemmMR-1)*ldc+nrK]
				dfn(kc, &as[0], lda, &bs[0], &cs[0], ldc, alpha, beta)
				continue
			}
			dfn(kc, &as[0], lda, &bs[0], &tmp[0], nrK, 1, 0)
			mergeTile(gemmMR, nr, nrK, alpha, beta, tmp, c[ir*ldc+jr:], ldc)
		}
		if full < mc {
			fn(kc, &ap[0], &bs[0], &tmp[0], nrK, 1, 0)
			mergeTile(mc-full, nr, nrK, alpha, beta, tmp, c[full*ldc+jr:], ldc)
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

// bestKernel is the fastest micro-kernel this CPU runs: the first assembly
// kernel, else the Go twin of the AVX-512 kernel set (which takes every path
// of the macro-kernel that the assembly takes).
var bestKernel = func() gemmKernel {
	if len(asmKernels) > 0 {
		return asmKernels[0]
	}
	return goKernel32
}()
