//go:build !noasm

package tensor

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestKernelsMatchGoTwins runs every assembly micro-kernel beside its Go
// twin on the same tile: they sum in the same order and differ only where
// the assembly fuses a multiply-add, so they agree to a few ulps of the sum
// of |terms|.
func TestKernelsMatchGoTwins(t *testing.T) {
	if !hasGemmAsm {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	type tile func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)
	packed := func(f microKernel) tile {
		return func(k int, a *float32, _ int, b, c *float32, ldc int, alpha, beta float32) {
			f(k, a, b, c, ldc, alpha, beta)
		}
	}
	type pair struct {
		name      string
		nr        int
		asm, twin tile
		// rs, ps place A's value of row r at step p at a[r*rs+p*ps] (lda
		// is the stride handed to the kernel).
		rs, ps func(lda int) int
	}
	one := func(int) int { return 1 }
	mr := func(int) int { return gemmMR }
	ident := func(l int) int { return l }
	pairs := []pair{
		{"6x16", gemmNR, packed(sgemmKernel6x16AVX2), packed(kernelGeneric), one, mr},
	}
	if hasAVX512 {
		for i, kern := range asmSet {
			twin := goKernels[i]
			name := fmt.Sprintf("6x%d", kern.nr)
			pairs = append(pairs,
				pair{name, kern.nr, packed(kern.fn), packed(twin.fn), one, mr},
				pair{name + "-direct", kern.nr, tile(kern.direct), tile(twin.direct), ident, one},
				pair{name + "-strided", kern.nr, tile(kern.directT), tile(twin.directT), one, ident},
			)
		}
	}
	for _, p := range pairs {
		for _, k := range []int{1, 2, 3, 4, 5, 8, 13, 64, 257} {
			for _, beta := range []float32{0, 1, -0.5} {
				lda := 7 + rng.IntN(40)
				if p.rs(lda) == 1 && p.ps(lda) == gemmMR {
					lda = gemmMR
				}
				a := randSlice(rng, (gemmMR-1)*p.rs(lda)+(k-1)*p.ps(lda)+1)
				b := randSlice(rng, k*p.nr)
				ldc := p.nr + rng.IntN(5)
				c1 := randSlice(rng, (gemmMR-1)*ldc+p.nr)
				c2 := append([]float32(nil), c1...)
				alpha := float32(0.75)
				p.asm(k, &a[0], lda, &b[0], &c1[0], ldc, alpha, beta)
				p.twin(k, &a[0], lda, &b[0], &c2[0], ldc, alpha, beta)
				for r := range gemmMR {
					for j := range p.nr {
						var mag float64
						for q := range k {
							mag += math.Abs(float64(a[r*p.rs(lda)+q*p.ps(lda)]) * float64(b[q*p.nr+j]))
						}
						got, want := c1[r*ldc+j], c2[r*ldc+j]
						if d := math.Abs(float64(got - want)); d > 1e-6*(mag+1) {
							t.Fatalf("%s k=%d beta=%g: c[%d,%d] = %g, twin %g", p.name, k, beta, r, j, got, want)
						}
					}
				}
			}
		}
	}
}

// kernelBits hashes the outputs of one micro-kernel over seeded tiles (k
// from 1 to 40, three alpha/beta pairs, C filled with NaN where beta is 0),
// bit for bit: FMA results are exact IEEE arithmetic, so the hash is the
// same on every CPU that runs the kernel.
func kernelBits(nr int, direct bool, f func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)) uint64 {
	rng := rand.New(rand.NewPCG(13, 14))
	h := fnv.New64a()
	var buf [4]byte
	for k := 1; k <= 40; k++ {
		for _, ab := range [][2]float32{{1, 0}, {0.75, 1}, {-2, -0.5}} {
			lda := gemmMR
			if direct {
				lda = 6 + rng.IntN(50)
			}
			ldc := nr + rng.IntN(7)
			a := randSlice(rng, (k+6)*lda)
			b := randSlice(rng, k*nr)
			c := randSlice(rng, 6*ldc)
			if ab[1] == 0 {
				for i := range c {
					c[i] = float32(math.NaN())
				}
			}
			f(k, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1])
			for _, v := range c {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				h.Write(buf[:])
			}
		}
	}
	return h.Sum64()
}

// TestKernelBitsUnchanged pins the AVX2 kernel's output bits to those of
// the hand-written kernel the generator replaced (tensor/asm): a change to
// the generator that reorders or unfuses any arithmetic fails here. The
// AVX-512 kernels are tied to it bit for bit by TestAVX512MatchesAVX2.
func TestKernelBitsUnchanged(t *testing.T) {
	if !hasGemmAsm {
		t.Skip("no AVX2+FMA on this CPU")
	}
	packed := func(f microKernel) func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32) {
		return func(k int, a *float32, _ int, b, c *float32, ldc int, alpha, beta float32) {
			f(k, a, b, c, ldc, alpha, beta)
		}
	}
	cases := []struct {
		name   string
		avx512 bool
		got    func() uint64
		want   uint64
	}{
		{"6x16", false, func() uint64 { return kernelBits(16, false, packed(sgemmKernel6x16AVX2)) }, 0x2cc8b73a7ed4944a},
	}
	for _, tc := range cases {
		if tc.avx512 && !hasAVX512 {
			continue
		}
		if got := tc.got(); got != tc.want {
			t.Errorf("%s: output bits hash %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// TestAVX512MatchesAVX2 checks every AVX-512 kernel (each width; A packed,
// in place or transposed in place; B packed or in place) bit for bit
// against the AVX2 kernel run on each 16-column part of their tile: both
// fuse every multiply-add, sum over p in order, then scale by alpha and fuse
// beta*C, so each element's bits are fixed by its row of A and column of B
// whatever the vector width or the way A is read.
func TestAVX512MatchesAVX2(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, kern := range asmSet {
		nr := kern.nr
		for _, k := range []int{1, 3, 4, 7, 40, 257} {
			for _, ab := range [][2]float32{{1, 0}, {0.75, 1}, {-2, -0.5}} {
				lda := gemmMR + 1 + rng.IntN(70)
				if lda < k {
					lda = k + rng.IntN(5)
				}
				// Rows of A in place: a[r*lda+p].
				a := randSlice(rng, gemmMR*lda)
				b := randSlice(rng, k*nr)
				ldc := nr + rng.IntN(7)
				c0 := randSlice(rng, gemmMR*ldc)
				if ab[1] == 0 {
					for i := range c0 {
						c0[i] = float32(math.NaN())
					}
				}
				packedA := func(rs, ps int, src []float32) []float32 {
					ap := make([]float32, k*gemmMR)
					for p := range k {
						for r := range gemmMR {
							ap[p*gemmMR+r] = src[r*rs+p*ps]
						}
					}
					return ap
				}
				for _, tc := range []struct {
					name string
					run  func(c []float32)
					ap   []float32
				}{
					{"packed", func(c []float32) {
						kern.fn(k, &packedA(lda, 1, a)[0], &b[0], &c[0], ldc, ab[0], ab[1])
					}, packedA(lda, 1, a)},
					{"direct", func(c []float32) {
						kern.direct(k, &a[0], lda, &b[0], &c[0], ldc, ab[0], ab[1])
					}, packedA(lda, 1, a)},
					{"strided", func(c []float32) {
						// Aᵀ in place: a step's six values contiguous, ldt apart.
						ldt := gemmMR + 3
						at := make([]float32, k*ldt)
						for p := range k {
							for r := range gemmMR {
								at[p*ldt+r] = a[r*lda+p]
							}
						}
						kern.directT(k, &at[0], ldt, &b[0], &c[0], ldc, ab[0], ab[1])
					}, packedA(lda, 1, a)},
					{"directB", func(c []float32) {
						// B in place: a step's nr values a row, ldb apart.
						ldb := nr + 5
						bd := make([]float32, k*ldb)
						for p := range k {
							copy(bd[p*ldb:p*ldb+nr], b[p*nr:p*nr+nr])
						}
						kern.directB(k, &a[0], lda, &bd[0], ldb, &c[0], ldc, ab[0], ab[1])
					}, packedA(lda, 1, a)},
				} {
					got := append([]float32(nil), c0...)
					tc.run(got)
					want := append([]float32(nil), c0...)
					for q := range nr / 16 {
						bq := make([]float32, k*16)
						for p := range k {
							copy(bq[p*16:p*16+16], b[p*nr+q*16:])
						}
						sgemmKernel6x16AVX2(k, &tc.ap[0], &bq[0], &want[q*16], ldc, ab[0], ab[1])
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("6x%d %s k=%d alpha=%g beta=%g: c[%d] = %g, AVX2 %g", nr, tc.name, k, ab[0], ab[1], i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkKernelTile times each assembly micro-kernel alone on one tile
// (A and C in L1, k = 256: B is 64 KB at NR = 64, in L2), the ceiling of the
// packed GEMM; GFLOP/s over MeasurePeak's one-thread rate is its share.
//
//	go test ./tensor -run - -bench KernelTile
func BenchmarkKernelTile(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 18))
	const k = 256
	peak := MeasurePeak(1, 200*time.Millisecond).GFLOPS
	for _, kern := range asmKernels {
		a := randSlice(rng, k*gemmMR)
		bp := randSlice(rng, k*kern.nr)
		c := make([]float32, gemmMR*kern.nr)
		isa := "AVX512"
		if kern.direct == nil {
			isa = "AVX2"
		}
		b.Run(fmt.Sprintf("6x%d%s", kern.nr, isa), func(b *testing.B) {
			for b.Loop() {
				kern.fn(k, &a[0], &bp[0], &c[0], kern.nr, 1, 0)
			}
			g := 2 * float64(gemmMR*kern.nr*k) * float64(b.N) / b.Elapsed().Seconds() / 1e9
			b.ReportMetric(g, "GFLOP/s")
			b.ReportMetric(g/peak, "peak_share")
		})
	}
}

// TestPackLoopsMatchGoTwins checks the assembly packing loops against their
// Go twins, bit for bit (they only move floats), on ragged counts and
// strides, with the destination's gaps left untouched.
func TestPackLoopsMatchGoTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, slivers := range []int{1, 2, 5, 16} {
		for _, steps := range []int{1, 3, 16} {
			lda := slivers*gemmMR + rng.IntN(9)
			stride := steps*gemmMR + rng.IntN(7)
			src := randSlice(rng, (steps-1)*lda+slivers*gemmMR)
			d1 := randSlice(rng, (slivers-1)*stride+steps*gemmMR)
			d2 := append([]float32(nil), d1...)
			packAT6(slivers, steps, &src[0], lda, &d1[0], stride)
			packAT6Go(slivers, steps, &src[0], lda, &d2[0], stride)
			for i := range d1 {
				if math.Float32bits(d1[i]) != math.Float32bits(d2[i]) {
					t.Fatalf("packAT6 slivers=%d steps=%d: dst[%d] = %g, twin %g", slivers, steps, i, d1[i], d2[i])
				}
			}
		}
	}
	if !hasAVX512 {
		return
	}
	for _, blocks := range []int{1, 2, 5} {
		ldb, ldd := 16*blocks+rng.IntN(9), 16+rng.IntN(60)
		src := randSlice(rng, 15*ldb+16*blocks)
		d1 := randSlice(rng, (16*blocks-1)*ldd+16)
		d2 := append([]float32(nil), d1...)
		packBT16AVX512(blocks, &src[0], ldb, &d1[0], ldd)
		packBT16Go(blocks, &src[0], ldb, &d2[0], ldd)
		for i := range d1 {
			if math.Float32bits(d1[i]) != math.Float32bits(d2[i]) {
				t.Fatalf("packBT16 blocks=%d ldb=%d ldd=%d: dst[%d] = %g, twin %g", blocks, ldb, ldd, i, d1[i], d2[i])
			}
		}
	}
	for _, n := range []int{1, 2, 7, 256} {
		ld := 64 + rng.IntN(50)
		src := randSlice(rng, (n-1)*ld+64)
		d1, d2 := make([]float32, n*64), make([]float32, n*64)
		copyRows64AVX512(n, &src[0], ld, &d1[0])
		copyRows64Go(n, &src[0], ld, &d2[0])
		for i := range d1 {
			if d1[i] != d2[i] {
				t.Fatalf("copyRows64 n=%d: dst[%d] = %g, twin %g", n, i, d1[i], d2[i])
			}
		}
	}
}
