//go:build !noasm

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
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
	if len(asmKernels) > 0 && asmKernels[0].nr == 32 {
		pairs = append(pairs,
			pair{"6x32", 32, packed(sgemmKernel6x32AVX512), packed(kernel6x32Go), one, mr},
			pair{"6x32-direct", 32, sgemmKernel6x32AVX512Direct, kernel6x32DirectGo, ident, one},
			pair{"6x32-strided", 32, sgemmKernel6x32AVX512Strided, kernel6x32StridedGo, one, ident},
		)
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
