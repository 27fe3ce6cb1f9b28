//go:build !noasm

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestGeneratedKernelsBitIdentical compares the generated kernels with the
// hand-written ones they replace, bit for bit: every kernel on its own over
// k, strides, alpha and beta (NaN in C included), and the whole packed GEMM
// built on each set over many shapes, transposes and strides.
func TestGeneratedKernelsBitIdentical(t *testing.T) {
	if !hasGemmAsm {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	oldSets := []gemmKernel{{oldKernel6x16AVX2, 16, nil, nil}}
	newSets := []gemmKernel{{sgemmKernel6x16AVX2, 16, nil, nil}}
	if asmKernels[0].nr == 32 {
		oldSets = append(oldSets, gemmKernel{oldKernel6x32AVX512, 32, oldKernel6x32AVX512Direct, oldKernel6x32AVX512Strided})
		newSets = append(newSets, gemmKernel{sgemmKernel6x32AVX512, 32, sgemmKernel6x32AVX512Direct, sgemmKernel6x32AVX512Strided})
	}
	same := func(what string, x, y []float32) {
		t.Helper()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s: [%d] old %g (%#x) new %g (%#x)", what, i, x[i], math.Float32bits(x[i]), y[i], math.Float32bits(y[i]))
			}
		}
	}
	tiles := 0
	for s := range oldSets {
		o, n := oldSets[s], newSets[s]
		for k := 0; k <= 70; k++ {
			for _, ab := range [][2]float32{{1, 0}, {0.75, 1}, {-2, -0.5}, {1, float32(math.Copysign(0, -1))}} {
				lda := 6 + rng.IntN(50)
				ldc := o.nr + rng.IntN(7)
				a := randSlice(rng, (k+2)*lda+6*lda)
				b := randSlice(rng, (k+1)*o.nr)
				c0 := randSlice(rng, 6*ldc)
				if ab[1] == 0 {
					for i := range c0 {
						c0[i] = float32(math.NaN())
					}
				}
				run := func(f func(c []float32)) []float32 {
					c := append([]float32(nil), c0...)
					f(c)
					return c
				}
				kk := max(k, 1) // the kernels are never called with k = 0
				same("packed", run(func(c []float32) { o.fn(kk, &a[0], &b[0], &c[0], ldc, ab[0], ab[1]) }),
					run(func(c []float32) { n.fn(kk, &a[0], &b[0], &c[0], ldc, ab[0], ab[1]) }))
				tiles++
				if o.direct != nil {
					same("direct", run(func(c []float32) { o.direct(kk, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1]) }),
						run(func(c []float32) { n.direct(kk, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1]) }))
					same("strided", run(func(c []float32) { o.directT(kk, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1]) }),
						run(func(c []float32) { n.directT(kk, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1]) }))
					tiles += 2
				}
			}
		}
	}
	products := 0
	for it := 0; it < 600; it++ {
		m, nn, k := 1+rng.IntN(90), 1+rng.IntN(90), 1+rng.IntN(90)
		if it%15 == 0 {
			m, nn, k = 100+rng.IntN(400), 100+rng.IntN(400), 100+rng.IntN(600)
		}
		tA, tB := it&1 != 0, it&2 != 0
		rowsA, colsA := m, k
		if tA {
			rowsA, colsA = k, m
		}
		rowsB, colsB := k, nn
		if tB {
			rowsB, colsB = nn, k
		}
		lda, ldb, ldc := colsA+rng.IntN(3)*rng.IntN(9), colsB+rng.IntN(3)*rng.IntN(9), nn+rng.IntN(4)
		a, b := randSlice(rng, rowsA*lda), randSlice(rng, rowsB*ldb)
		c0 := randSlice(rng, m*ldc)
		alpha, beta := []float32{1, 0.5, -3}[rng.IntN(3)], []float32{0, 1, 0.25}[rng.IntN(3)]
		for s := range oldSets {
			co := append([]float32(nil), c0...)
			cn := append([]float32(nil), c0...)
			gemmParallel(oldSets[s], tA, tB, m, nn, k, alpha, a, lda, b, ldb, beta, co, ldc)
			gemmParallel(newSets[s], tA, tB, m, nn, k, alpha, a, lda, b, ldb, beta, cn, ldc)
			same("gemm", co, cn)
			products++
		}
	}
	t.Logf("%d tiles and %d products bit-identical", tiles, products)
}

// TestGeneratedKernelsSpeed times old and new alternately, keeping the
// fastest of many short runs of each, which a loaded machine disturbs least.
func TestGeneratedKernelsSpeed(t *testing.T) {
	if testing.Short() || !hasGemmAsm {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const k = 256
	a := randSlice(rng, k*64)
	b := randSlice(rng, k*32)
	c := randSlice(rng, 6*32)
	type pair struct {
		name     string
		old, new func()
		flops    float64
	}
	tile := func(f microKernel, nr int) func() {
		return func() {
			for range 100 {
				f(k, &a[0], &b[0], &c[0], nr, 1, 1)
			}
		}
	}
	tileD := func(f directKernel) func() {
		return func() {
			for range 100 {
				f(k, &a[0], 64, &b[0], &c[0], 32, 1, 1)
			}
		}
	}
	n := 384
	ga, gb, gc := randSlice(rng, n*n), randSlice(rng, n*n), randSlice(rng, n*n)
	gemm := func(ks gemmKernel, tA, tB bool) func() {
		return func() { gemmSerial(ks, tA, tB, n, n, n, 1, ga, n, gb, n, 0, gc, n) }
	}
	oldSet := gemmKernel{oldKernel6x32AVX512, 32, oldKernel6x32AVX512Direct, oldKernel6x32AVX512Strided}
	newSet := gemmKernel{sgemmKernel6x32AVX512, 32, sgemmKernel6x32AVX512Direct, sgemmKernel6x32AVX512Strided}
	pairs := []pair{
		{"tile 6x16", tile(oldKernel6x16AVX2, 16), tile(sgemmKernel6x16AVX2, 16), 100 * 2 * 6 * 16 * k},
	}
	if asmKernels[0].nr == 32 {
		pairs = append(pairs,
			pair{"tile 6x32", tile(oldKernel6x32AVX512, 32), tile(sgemmKernel6x32AVX512, 32), 100 * 2 * 6 * 32 * k},
			pair{"tile 6x32 direct", tileD(oldKernel6x32AVX512Direct), tileD(sgemmKernel6x32AVX512Direct), 100 * 2 * 6 * 32 * k},
			pair{"tile 6x32 strided", tileD(oldKernel6x32AVX512Strided), tileD(sgemmKernel6x32AVX512Strided), 100 * 2 * 6 * 32 * k},
			pair{"gemm 384^3 NN", gemm(oldSet, false, false), gemm(newSet, false, false), 2 * float64(n*n*n)},
			pair{"gemm 384^3 TN", gemm(oldSet, true, false), gemm(newSet, true, false), 2 * float64(n*n*n)},
			pair{"gemm 384^3 NT", gemm(oldSet, false, true), gemm(newSet, false, true), 2 * float64(n*n*n)},
		)
	}
	for _, p := range pairs {
		best := [2]time.Duration{time.Hour, time.Hour}
		for range 300 {
			for i, f := range []func(){p.old, p.new} {
				s := time.Now()
				f()
				best[i] = min(best[i], time.Since(s))
			}
		}
		t.Logf("%-18s old %6.1f GFLOP/s  new %6.1f GFLOP/s  new/old %.3f", p.name,
			p.flops/best[0].Seconds()/1e9, p.flops/best[1].Seconds()/1e9, best[0].Seconds()/best[1].Seconds())
	}
}
