package models

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// Shape A of issue 2: 2 layers, 4 heads, d_model 128, ctx 128, batch 32,
// vocab 512, attention-only. `mechinterp bench` is the comparison with
// PyTorch; these isolate the model's own passes for profiling.
var shapeA = Config{NLayers: 2, NHeads: 4, DModel: 128, NCtx: 128, DVocab: 512, AttnOnly: true, Untied: true}

func benchShapeA(b *testing.B) (*Model, []int, []int) { return benchModel(b, shapeA, 32) }

// benchModel builds the model and batch random sequences of its full
// context, with random targets.
func benchModel(b *testing.B, cfg Config, batch int) (*Model, []int, []int) {
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(0, 0))
	toks, tgts := make([]int, batch*cfg.NCtx), make([]int, batch*cfg.NCtx)
	for i := range toks {
		toks[i], tgts[i] = rng.IntN(cfg.DVocab), rng.IntN(cfg.DVocab)
	}
	return m, toks, tgts
}

func BenchmarkForwardA(b *testing.B) {
	m, toks, tgts := benchShapeA(b)
	b.SetBytes(int64(len(toks)))
	for b.Loop() {
		p, err := m.Forward(toks, 32, 128, tgts, nil)
		if err != nil {
			b.Fatal(err)
		}
		p.Release()
	}
}

func BenchmarkForwardBackwardA(b *testing.B) { benchTrainStep(b, shapeA, 32) }

func BenchmarkTrainStepB(b *testing.B) {
	benchTrainStep(b, Config{NLayers: 2, NHeads: 8, DModel: 256, NCtx: 128, DVocab: 2048, Untied: true}, 16)
}

// BenchmarkTrainStepC is a forward and backward pass at shape C of
// scripts/bench-vs-torch.sh (2 layers, 8 heads, d_model 512, ctx 256, batch
// 8, vocabulary 4096): `mechinterp bench train` without AdamW, for
// profiling (docs/PERFORMANCE.md).
func BenchmarkTrainStepC(b *testing.B) {
	benchTrainStep(b, Config{NLayers: 2, NHeads: 8, DModel: 512, NCtx: 256, DVocab: 4096, Untied: true}, 8)
}

// benchTrainStep times a forward and backward pass of batch random sequences
// of the model's full context, as `mechinterp bench train` runs them.
func benchTrainStep(b *testing.B, cfg Config, batch int) {
	m, toks, tgts := benchModel(b, cfg, batch)
	g := m.Params.ZerosLike()
	for b.Loop() {
		p, err := m.Forward(toks, batch, cfg.NCtx, tgts, nil)
		if err != nil {
			b.Fatal(err)
		}
		clear(g.Data)
		if err := m.Backward(p, g, nil); err != nil {
			b.Fatal(err)
		}
		p.Release()
	}
}

// BenchmarkGenerateB is `mechinterp bench sample` on shape B: 8 prompts of
// 16 random tokens continued by 112 sampled tokens each, with a key/value
// cache. It isolates Generate for profiling; the side-by-side comparison
// with PyTorch is `mechinterp bench sample` (docs/PERFORMANCE.md).
func BenchmarkGenerateB(b *testing.B) {
	const batch, prompt, gen = 8, 16, 112
	m, err := New(Config{NLayers: 2, NHeads: 8, DModel: 256, NCtx: 128, DVocab: 2048, Untied: true})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(0, 0))
	prompts := make([][]int, batch)
	for i := range prompts {
		prompts[i] = make([]int, prompt)
		for j := range prompts[i] {
			prompts[i][j] = rng.IntN(2048)
		}
	}
	for b.Loop() {
		if _, err := Generate(m, prompts, gen, SampleOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*gen*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkUnembed times the unembedding's two many-row products, blocks of
// W_U · Xᵀ transposed and X · W_Uᵀ in one product, at shape C (2048 rows,
// vocabulary 4096, d_model 512) and at Pythia-160M's vocabulary: the figures
// behind unembedDirectRows.
func BenchmarkUnembed(b *testing.B) {
	for _, s := range [][3]int{{2048, 4096, 512}, {256, 4096, 512}, {128, 50304, 768}, {512, 50304, 768}} {
		N, V, C := s[0], s[1], s[2]
		x, w, out := make([]float32, N*C), make([]float32, V*C), make([]float32, N*V)
		for i := range x {
			x[i] = float32(i%13) * 0.1
		}
		for i := range w {
			w[i] = float32(i%7) * 0.1
		}
		scratch := make([]float32, max(N*32, min(N*V, 1<<20)))
		b.Run(fmt.Sprintf("blocked/N=%d/V=%d", N, V), func(b *testing.B) {
			for b.Loop() {
				gemmTransWBlocked(N, V, C, x, C, w, C, out, V, scratch)
			}
		})
		b.Run(fmt.Sprintf("direct/N=%d/V=%d", N, V), func(b *testing.B) {
			for b.Loop() {
				tensor.Gemm(false, true, N, V, C, 1, x, C, w, C, 0, out, V)
			}
		})
	}
}

// BenchmarkAttention times one layer's attention (scores, softmax,
// pattern·v) and its backward pass at shape C (batch 8, 8 heads of 64,
// ctx 256), without hooks, on random q, k, v.
func BenchmarkAttention(b *testing.B) {
	m, err := New(Config{NLayers: 1, NHeads: 8, DModel: 512, NCtx: 256, DVocab: 16})
	if err != nil {
		b.Fatal(err)
	}
	B, T, HD := 8, 256, 512
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	a := &layerActs{q: fill(B * T * HD), k: fill(B * T * HD), v: fill(B * T * HD)}
	a.qr, a.kr = a.q, a.k
	dz := fill(B * T * HD)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			var ar arena
			if err := m.attention(runner{}, &ar, 0, a, B, T); err != nil {
				b.Fatal(err)
			}
			ar.release()
		}
	})
	var ar arena
	if err := m.attention(runner{}, &ar, 0, a, B, T); err != nil {
		b.Fatal(err)
	}
	dq, dk, dv := make([]float32, B*T*HD), make([]float32, B*T*HD), make([]float32, B*T*HD)
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			var ar arena
			if err := m.attentionBackward(gradRunner{}, &ar, 0, dq, dk, dv, 0, dz, a, B, T); err != nil {
				b.Fatal(err)
			}
			ar.release()
		}
	})
}

// BenchmarkGelu times tanh-GELU and its backward pass on shape C's MLP
// activations (2048 rows of 2048).
func BenchmarkGelu(b *testing.B) {
	x, out := make([]float32, 2048*2048), make([]float32, 2048*2048)
	for i := range x {
		x[i] = float32(i%97)/16 - 3
	}
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			geluTanh(out, x)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			geluTanhBackward(out, x, x)
		}
	})
}
