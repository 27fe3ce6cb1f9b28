package tensor

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopGemm runs f b.N times and reports GFLOP/s for flops per call and the
// CPU time per call (cpu-ns/op: on a shared machine, where another process
// takes the core for part of a run, the CPU time is steadier than the wall
// time; summed over the threads, it also shows work a split adds).
func loopGemm(b *testing.B, flops float64, f func()) {
	c0 := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// trainShapeA are the products of one training step at bench train's shape
// A (--layers 2 --heads 4 --d-model 128 --ctx 128 --batch 32 --vocab 512
// --attn-only), as m×n×k with the transposes, each with its calls per step
// (the attention products are per head and per 32-row chunk of a
// sequence). They are small: what they cost is mostly the per-call and
// per-tile overhead, not the FMAs.
var trainShapeA = []struct {
	tA, tB  bool
	m, n, k int
	calls   int
}{
	{true, false, 128, 128, 4096, 16},
	{false, true, 4096, 128, 128, 16},
	{false, false, 4096, 128, 128, 16},
	{false, true, 128, 128, 32, 512},
	{true, false, 128, 32, 32, 1024},
	{true, false, 96, 32, 32, 1024},
	{true, false, 64, 32, 32, 1024},
	{true, false, 32, 32, 32, 1024},
	{false, false, 32, 32, 128, 1024},
	{false, false, 32, 32, 96, 1024},
	{false, false, 32, 32, 64, 1024},
	{false, false, 32, 32, 32, 1024},
	{false, true, 32, 128, 32, 512},
	{false, true, 32, 96, 32, 512},
	{false, true, 32, 64, 32, 512},
	{false, true, 32, 32, 32, 512},
	{false, true, 256, 4096, 128, 4},
	{true, false, 512, 128, 4096, 2},
	{false, false, 4096, 128, 512, 2},
}

// BenchmarkGemmTrainShapeA times tensor.Gemm on each of shape A's products
// (see trainShapeA) and reports ns per call; "step" is the sum over the
// products weighted by their calls per step, the GEMM time of one step.
//
//	go test ./tensor -run - -bench GemmTrainShapeA
func BenchmarkGemmTrainShapeA(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	run := func(i int) func() {
		s := trainShapeA[i]
		a := randSlice(rng, s.m*s.k)
		bb := randSlice(rng, s.k*s.n)
		c := randSlice(rng, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		return func() { Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n) }
	}
	for i, s := range trainShapeA {
		f := run(i)
		op := map[[2]bool]string{{false, false}: "NN", {true, false}: "TN", {false, true}: "NT"}[[2]bool{s.tA, s.tB}]
		b.Run(fmt.Sprintf("%s_%dx%dx%d", op, s.m, s.n, s.k), func(b *testing.B) {
			loopGemm(b, 2*float64(s.m*s.n*s.k), f)
		})
	}
	fs := make([]func(), len(trainShapeA))
	for i := range fs {
		fs[i] = run(i)
	}
	b.Run("step", func(b *testing.B) {
		loopGemm(b, 0, func() {
			for i, s := range trainShapeA {
				for range s.calls {
					fs[i]()
				}
			}
		})
	})
}

// pythia128 are the products of a Pythia-160M forward pass on 128 tokens
// (d_model 768, d_mlp 3072, vocab 50304), with the weight as stored in
// Hugging Face's checkpoints ([out,in]: X·Wᵀ) and as [in,out] (X·W).
var pythia128 = []struct {
	name    string
	m, n, k int
}{
	{"QKV", 128, 2304, 768},
	{"MLPin", 128, 3072, 768},
	{"out", 128, 768, 768},
	{"MLPout", 128, 768, 3072},
	{"unembed", 128, 50304, 768},
}

// BenchmarkGemmPythia128 times tensor.Gemm on pythia128's products.
//
//	go test ./tensor -run - -bench GemmPythia128
func BenchmarkGemmPythia128(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range pythia128 {
		x := randSlice(rng, s.m*s.k)
		w := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for _, tB := range []bool{true, false} {
			ldb, op := s.n, "XW"
			if tB {
				ldb, op = s.k, "XWt"
			}
			b.Run(fmt.Sprintf("%s_%s_%dx%dx%d", s.name, op, s.m, s.n, s.k), func(b *testing.B) {
				loopGemm(b, 2*float64(s.m*s.n*s.k), func() { Gemm(false, tB, s.m, s.n, s.k, 1, x, s.k, w, ldb, 0, c, s.n) })
			})
		}
	}
}

// BenchmarkGemmWeightGrads times tensor.Gemm on the weight gradients Aᵀ·B
// of bench train's shape C (B·T = 2048, d_model 512, d_mlp 2048, vocab
// 4096) and shape A (B·T = 4096, d_model 128).
//
//	go test ./tensor -run - -bench GemmWeightGrads -cpu 1,2
func BenchmarkGemmWeightGrads(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ m, n, k int }{
		{512, 1536, 2048}, {512, 2048, 2048}, {2048, 512, 2048}, {512, 4096, 2048}, {128, 128, 4096},
	} {
		a := randSlice(rng, s.k*s.m)
		bb := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		b.Run(fmt.Sprintf("TN_%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			loopGemm(b, 2*float64(s.m*s.n*s.k), func() { Gemm(true, false, s.m, s.n, s.k, 1, a, s.m, bb, s.n, 0, c, s.n) })
		})
	}
}
