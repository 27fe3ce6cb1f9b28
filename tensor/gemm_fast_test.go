package tensor

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gemmPaths are the code paths every kernel test runs on: the selectable
// ones, each Go twin and each assembly kernel alone on every product.
func gemmPaths() map[string]GemmFunc {
	p := map[string]GemmFunc{
		"generic": genericGemm,
		"fast":    fastGemm,
		"gonum":   gonumGemm,
	}
	with := func(kern gemmKernel) GemmFunc {
		return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemmParallel(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	// B read in place (gemmDirectB) wherever neither operand is transposed
	// (the Go twins take it through "fast" where no assembly is built).
	withB := func(kern gemmKernel) GemmFunc {
		return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if transA || transB {
				gemmParallel(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			gemmDirectB(kern, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	for _, kern := range goKernels {
		p[fmt.Sprintf("go-nr%d", kern.nr)] = with(kern)
	}
	for i, kern := range asmKernels {
		p[fmt.Sprintf("asm%d-nr%d", i, kern.nr)] = with(kern)
		if kern.directB != nil {
			p[fmt.Sprintf("asm%d-nr%d-directB", i, kern.nr)] = withB(kern)
		}
	}
	return p
}

// checkGemm runs every path on one random product and checks each against
// the reference, computed once.
func checkGemm(t *testing.T, paths map[string]GemmFunc, rng *rand.Rand, m, n, k int, tA, tB bool, alpha, beta float32, padA, padB, padC int, nanC bool) {
	t.Helper()
	rowsA, colsA := m, k
	if tA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tB {
		rowsB, colsB = n, k
	}
	lda, ldb, ldc := max(colsA+padA, 1), max(colsB+padB, 1), n+padC
	a := randSlice(rng, rowsA*lda)
	b := randSlice(rng, rowsB*ldb)
	c := randSlice(rng, m*ldc)
	if nanC {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := append([]float32(nil), c...)
	if nanC {
		// The reference must see beta*NaN as 0 too.
		for i := range want {
			want[i] = 0
		}
		for i := 0; i < m; i++ {
			for j := n; j < ldc; j++ {
				want[i*ldc+j] = c[i*ldc+j]
			}
		}
	}
	naiveGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	c0 := c
	for _, name := range slices.Sorted(maps.Keys(paths)) {
		c := append([]float32(nil), c0...)
		paths[name](tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		checkAgainst(t, name, c, want, m, n, k, ldc, tA, tB, alpha, beta, padA, padB, padC)
	}
}

func checkAgainst(t *testing.T, name string, c, want []float32, m, n, k, ldc int, tA, tB bool, alpha, beta float32, padA, padB, padC int) {
	t.Helper()
	tol := 1e-5 * float64(k+1)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got, w := c[i*ldc+j], want[i*ldc+j]
			if j >= n {
				// Padding must be untouched (bitwise, NaN included).
				if math.Float32bits(got) != math.Float32bits(w) {
					t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v: padding c[%d,%d] changed", name, m, n, k, tA, tB, i, j)
				}
				continue
			}
			if d := math.Abs(float64(got - w)); !(d <= tol*(1+math.Abs(float64(w)))) {
				t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v alpha=%g beta=%g pads=%d,%d,%d: c[%d,%d]=%g want %g",
					name, m, n, k, tA, tB, alpha, beta, padA, padB, padC, i, j, got, w)
			}
		}
	}
}

func TestGemmPathsRandom(t *testing.T) {
	alphas := []float32{1, 0.5, -2}
	betas := []float32{0, 1, 0.25}
	paths := gemmPaths()
	rng := rand.New(rand.NewPCG(3, 4))
	iters := 400
	if testing.Short() {
		iters = 100
	}
	for it := 0; it < iters; it++ {
		m, n, k := 1+rng.IntN(70), 1+rng.IntN(70), 1+rng.IntN(70)
		if it%10 == 0 {
			m, n, k = 100+rng.IntN(200), 100+rng.IntN(200), 100+rng.IntN(300)
		}
		tA, tB := it&1 != 0, it&2 != 0
		alpha, beta := alphas[rng.IntN(3)], betas[rng.IntN(3)]
		pad := func() int {
			if rng.IntN(2) == 0 {
				return 0
			}
			return 1 + rng.IntN(9)
		}
		checkGemm(t, paths, rng, m, n, k, tA, tB, alpha, beta, pad(), pad(), pad(), beta == 0 && rng.IntN(2) == 0)
	}
}

func TestGemmPathsEdges(t *testing.T) {
	paths := gemmPaths()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			// k = 0, m = 0, n = 0.
			checkGemm(t, paths, rng, 5, 9, 0, tA, tB, 1, 0.5, 0, 0, 0, false)
			checkGemm(t, paths, rng, 5, 9, 0, tA, tB, 1, 0, 0, 0, 2, true)
			checkGemm(t, paths, rng, 0, 9, 4, tA, tB, 1, 0, 0, 0, 0, false)
			checkGemm(t, paths, rng, 7, 0, 4, tA, tB, 1, 0, 0, 0, 1, false)
			// Exact tile multiples, multi-block k (> KC), m > MC, parallel sizes.
			checkGemm(t, paths, rng, 12, 32, 4, tA, tB, 0.5, 0, 0, 0, 0, true)
			checkGemm(t, paths, rng, 150, 40, 600, tA, tB, -2, 0.25, 3, 1, 2, false)
			checkGemm(t, paths, rng, 301, 257, 70, tA, tB, 1, 1, 0, 5, 0, false)
			checkGemm(t, paths, rng, 64, 300, 530, tA, tB, 1, 0, 1, 0, 3, true)
			// A small C over a long k (split over k between the threads).
			checkGemm(t, paths, rng, 40, 50, 2100, tA, tB, 0.5, 0.25, 1, 2, 3, false)
			checkGemm(t, paths, rng, 37, 64, 2500, tA, tB, 1, 0, 0, 0, 1, true)
			// Few rows against a wide weight (A·Bᵀ swapped to B·Aᵀ).
			checkGemm(t, paths, rng, 20, 700, 400, tA, tB, 0.5, 0.25, 2, 3, 1, false)
			checkGemm(t, paths, rng, 13, 1100, 300, tA, tB, 1, 0, 0, 0, 4, true)
			checkGemm(t, paths, rng, 40, 2000, 100, tA, tB, -1, 0.5, 1, 0, 2, false)
			checkGemm(t, paths, rng, 40, 2000, 100, tA, tB, 0, 0.5, 1, 0, 2, false)
			// Wide products cut into blocks of columns, one block per
			// panel width or more (gemmSplitC), and tall ones into rows.
			checkGemm(t, paths, rng, 30, 1700, 600, tA, tB, 0.5, 0.25, 1, 2, 3, false)
			checkGemm(t, paths, rng, 250, 530, 70, tA, tB, 1, 0, 0, 0, 1, true)
			checkGemm(t, paths, rng, 400, 100, 130, tA, tB, -1, 1, 2, 0, 0, false)
			// Few columns over a long k: panels deeper than gemmKC.
			checkGemm(t, paths, rng, 300, 100, 1700, tA, tB, 1, 0.5, 0, 1, 0, false)
			// Per-head attention: strides wider than widths.
			checkGemm(t, paths, rng, 128, 128, 32, tA, tB, 0.17677, 0, 96, 96, 0, false)
		}
	}
}

func TestGemmSelect(t *testing.T) {
	for _, s := range append([]string{""}, GemmPaths...) {
		if selectGemm(s) == nil {
			t.Fatalf("selectGemm(%q) = nil", s)
		}
	}
	for _, s := range GemmPaths {
		if _, ok := GemmPath(s); !ok {
			t.Errorf("GemmPath(%q) unknown", s)
		}
	}
	if _, ok := GemmPath("blis"); ok {
		t.Error("GemmPath accepted an unknown name")
	}
}

type gemmShape struct {
	name       string
	tA, tB     bool
	m, n, k    int
	lda, ldb   int
	alpha, bet float32
}

var benchShapes = []gemmShape{
	{"qkv_4096x128x384", false, false, 4096, 384, 128, 128, 384, 1, 0},
	{"unembed_4096x512x128_tB", false, true, 4096, 512, 128, 128, 128, 1, 0},
	{"wgrad_128x384x4096_tA", true, false, 128, 384, 4096, 128, 384, 1, 1},
	{"dx_4096x128x384_tB", false, true, 4096, 128, 384, 384, 384, 1, 0},
	{"mlp_2048x1024x256", false, false, 2048, 1024, 256, 256, 1024, 1, 0},
	{"head_128x128x32_tB", false, true, 128, 128, 32, 128, 128, 0.17677, 0},
	{"head_128x32x128", false, false, 128, 32, 128, 128, 128, 1, 0},
}

func BenchmarkGemm(b *testing.B) {
	for _, sh := range benchShapes {
		rng := rand.New(rand.NewPCG(7, 8))
		rowsA := sh.m
		if sh.tA {
			rowsA = sh.k
		}
		rowsB := sh.k
		if sh.tB {
			rowsB = sh.n
		}
		a := randSlice(rng, rowsA*sh.lda)
		bb := randSlice(rng, rowsB*sh.ldb)
		c := randSlice(rng, sh.m*sh.n)
		impls := gemmPaths()
		for _, impl := range slices.Sorted(maps.Keys(impls)) {
			if strings.HasPrefix(impl, "go-") {
				continue
			}
			f := impls[impl]
			b.Run(fmt.Sprintf("%s/%s", sh.name, impl), func(b *testing.B) {
				for b.Loop() {
					f(sh.tA, sh.tB, sh.m, sh.n, sh.k, sh.alpha, a, sh.lda, bb, sh.ldb, sh.bet, c, sh.n)
				}
				flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestKernelSetPick checks which tile each width takes: the widest that
// wastes no columns, a narrower one where the wide tile would compute many
// columns in vain (an attention head's 32, 96).
// TestSwapTransB checks which products take the swapped path.
func TestSwapTransB(t *testing.T) {
	for _, tc := range []struct {
		tA, tB  bool
		m, n, k int
		want    bool
	}{
		{false, true, 128, 2304, 768, true},   // Pythia QKV on 128 tokens
		{false, true, 128, 50304, 768, true},  // Pythia unembedding
		{false, true, 2048, 512, 4096, false}, // an input gradient
		{false, true, 1024, 1024, 1024, false},
		{false, true, 128, 128, 32, false}, // attention scores
		{false, false, 128, 2304, 768, false},
		{true, true, 128, 2304, 768, false},
	} {
		if got := swapTransB(tc.tA, tc.tB, tc.m, tc.n, tc.k); got != tc.want {
			t.Errorf("swapTransB(%v, %v, %d, %d, %d) = %v", tc.tA, tc.tB, tc.m, tc.n, tc.k, got)
		}
	}
}

func TestKernelSetPick(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 16}, {16, 16}, {32, 32}, {48, 64}, {64, 64}, {96, 32}, {128, 64}, {160, 32}, {2304, 64}, {50304, 64},
	} {
		if got := goKernels.pick(tc.n).nr; got != tc.want {
			t.Errorf("pick(%d) = 6x%d, want 6x%d", tc.n, got, tc.want)
		}
	}
}
