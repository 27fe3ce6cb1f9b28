package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// testConfigs covers every architecture switch.
var testConfigs = []struct {
	name string
	cfg  Config
}{
	{"gpt2", Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 6, DVocab: 11, Seed: 1}},
	{"attn-only", Config{NLayers: 2, NHeads: 3, DModel: 6, DHead: 4, NCtx: 6, DVocab: 9, AttnOnly: true, Seed: 2}},
	{"no-ln-untied", Config{NLayers: 1, NHeads: 2, DModel: 8, DMLP: 12, NCtx: 5, DVocab: 7, Normalization: NormNone, Untied: true, Seed: 3}},
	{"shortformer", Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 6, DVocab: 10, Positional: PosShortformer, AttnOnly: true, Seed: 4}},
	{"shortformer-mlp-untied", Config{NLayers: 1, NHeads: 2, DModel: 6, NCtx: 5, DVocab: 8, Positional: PosShortformer, Untied: true, Seed: 5}},
	// GPT-NeoX: rotary on a quarter of each head, parallel attention and
	// MLP, exact GELU, untied, no unembedding bias.
	{"neox", Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 6, DVocab: 11, Positional: PosRotary, RotaryDim: 2,
		ParallelAttnMLP: true, ActFn: ActGelu, Untied: true, NoUnembedBias: true, Seed: 6}},
	// Llama: RMSNorm, full rotary, SwiGLU, grouped-query attention, no biases.
	{"llama-gqa", Config{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 8, DHead: 4, DMLP: 12, NCtx: 6, DVocab: 9,
		Normalization: NormRMS, Positional: PosRotary, RotaryBase: 500, ActFn: ActSilu, GatedMLP: true,
		NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true, Untied: true, Seed: 7}},
	// Qwen2: Llama with q/k/v biases, tied, one key/value head.
	{"qwen2-mqa-tied", Config{NLayers: 1, NHeads: 2, NKVHeads: 1, DModel: 8, NCtx: 5, DVocab: 10,
		Normalization: NormRMS, Positional: PosRotary, ActFn: ActSilu, GatedMLP: true,
		NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true, Seed: 8}},
	// Gated GELU with every bias, sequential, RMSNorm, learned positions.
	{"geglu-rms-biases", Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 5, DVocab: 7,
		Normalization: NormRMS, ActFn: ActGelu, GatedMLP: true, Seed: 9}},
}

// randomModel returns a model with weights large enough that every path
// carries signal (GPT-2's 0.02 makes attention nearly uniform).
func randomModel(t testing.TB, cfg Config) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 99))
	for i := range m.Params.Data {
		m.Params.Data[i] = float32(rng.NormFloat64() * 0.5)
	}
	return m
}

func randomTokens(rng *rand.Rand, n, vocab int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = rng.IntN(vocab)
	}
	return s
}

// TestBackwardFiniteDifferences checks every parameter tensor's gradient
// against central differences of the loss, computed in float32 with a step
// large enough to beat rounding.
func TestBackwardFiniteDifferences(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(7, 7))
			B, T := 2, m.Config.NCtx
			tokens := randomTokens(rng, B*T, m.Config.DVocab)
			targets := randomTokens(rng, B*T, m.Config.DVocab)
			targets[3] = -1 // ignored positions must stay ignored
			pass, err := m.Forward(tokens, B, T, targets, nil)
			if err != nil {
				t.Fatal(err)
			}
			grads := m.Params.ZerosLike()
			if err := m.Backward(pass, grads, nil); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				p, err := m.Forward(tokens, B, T, targets, nil)
				if err != nil {
					t.Fatal(err)
				}
				return float64(p.Loss)
			}
			for _, prm := range m.Params.List() {
				n := tensor.Numel(prm.Shape)
				for trial := 0; trial < 4; trial++ {
					i := prm.Offset + rng.IntN(n)
					checkFD(t, prm.Name, m.Params.Data, i, float64(grads.Data[i]), loss)
				}
			}
		})
	}
}

func checkFD(t *testing.T, what string, data []float32, i int, analytic float64, f func() float64) {
	t.Helper()
	const h = 1e-2
	old := data[i]
	data[i] = old + h
	up := f()
	data[i] = old - h
	down := f()
	data[i] = old
	numeric := (up - down) / (2 * h)
	if d := math.Abs(numeric - analytic); d > 2e-3+2e-2*math.Abs(numeric) {
		t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", what, i, analytic, numeric)
	}
}

// TestHookGradientsFiniteDifferences checks the "<name>_grad" values against
// finite differences taken by perturbing the activation through a hook.
func TestHookGradientsFiniteDifferences(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(8, 8))
			B, T := 2, m.Config.NCtx
			tokens := randomTokens(rng, B*T, m.Config.DVocab)
			targets := randomTokens(rng, B*T, m.Config.DVocab)
			opt := &Options{AttnResult: true}
			pass, err := m.Forward(tokens, B, T, targets, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*tensor.Tensor{}
			err = m.Backward(pass, nil, &BackwardOptions{GradHook: func(name string, g *tensor.Tensor) error {
				got[name] = g.Clone()
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			names := HookNames(m.Config, true)
			for _, name := range names {
				g, ok := got[name+"_grad"]
				if hasSuffix(name, "hook_scale") {
					continue // no gradient is reported for the LayerNorm scale
				}
				if !ok {
					t.Errorf("no gradient reported for %s", name)
					continue
				}
				for trial := 0; trial < 3; trial++ {
					i := rng.IntN(g.Len())
					if hasSuffix(name, "hook_pattern", "hook_attn_scores") {
						// Only the causal half exists.
						q, k := (i/T)%T, i%T
						if k > q {
							continue
						}
					}
					loss := func(delta float32) float64 {
						o := &Options{AttnResult: true, Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
							if n == name {
								a.Data[i] += delta
							}
							return nil, nil
						}}
						p, err := m.Forward(tokens, B, T, targets, o)
						if err != nil {
							t.Fatal(err)
						}
						return float64(p.Loss)
					}
					const h = 1e-2
					numeric := (loss(h) - loss(-h)) / (2 * h)
					analytic := float64(g.Data[i])
					if d := math.Abs(numeric - analytic); d > 2e-3+2e-2*math.Abs(numeric) {
						t.Errorf("%s_grad[%d]: analytic %.6g, numeric %.6g", name, i, analytic, numeric)
					}
				}
			}
		})
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m, err := New(testConfigs[0].cfg)
	if err != nil {
		t.Fatal(err)
	}
	T := m.Config.NCtx
	cases := []struct {
		name    string
		tokens  []int
		B, T    int
		targets []int
	}{
		{"token too large", []int{0, 11}, 1, 2, nil},
		{"negative token", []int{-1}, 1, 1, nil},
		{"too long", make([]int, T+1), 1, T + 1, nil},
		{"wrong count", make([]int, 5), 2, 3, nil},
		{"target too large", []int{1, 2}, 1, 2, []int{1, 99}},
		{"targets wrong length", []int{1, 2}, 1, 2, []int{1}},
	}
	for _, tc := range cases {
		if _, err := m.Forward(tc.tokens, tc.B, tc.T, tc.targets, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestHookErrorStopsPass(t *testing.T) {
	m, _ := New(testConfigs[0].cfg)
	_, err := m.Forward([]int{1, 2, 3}, 1, 3, nil, &Options{Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
		if name == "blocks.1.attn.hook_z" {
			return nil, fmt.Errorf("boom")
		}
		return nil, nil
	}})
	if err == nil || err.Error() != "hook at blocks.1.attn.hook_z: boom" {
		t.Fatalf("err = %v", err)
	}
	_, err = m.Forward([]int{1, 2, 3}, 1, 3, nil, &Options{Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
		return tensor.New(1), nil
	}})
	if err == nil {
		t.Fatal("a replacement of the wrong shape was accepted")
	}
}

// Recycled buffers come back dirty; a pass on them must equal a fresh one.
func TestReleasedBuffersGiveIdenticalPasses(t *testing.T) {
	for _, tc := range testConfigs {
		m := randomModel(t, tc.cfg)
		rng := rand.New(rand.NewPCG(9, 9))
		B, T := 2, m.Config.NCtx
		toks, tgts := randomTokens(rng, B*T, m.Config.DVocab), randomTokens(rng, B*T, m.Config.DVocab)
		run := func(toks []int) ([]float32, []float32) {
			p, err := m.Forward(toks, B, T, tgts, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := m.Params.ZerosLike()
			if err := m.Backward(p, g, nil); err != nil {
				t.Fatal(err)
			}
			logits := append([]float32(nil), p.Logits.Data...)
			p.Release()
			return logits, g.Data
		}
		l1, g1 := run(toks)
		run(randomTokens(rng, B*T, m.Config.DVocab))
		l2, g2 := run(toks)
		for i := range l1 {
			if l1[i] != l2[i] {
				t.Fatalf("%s: logits[%d] %g then %g", tc.name, i, l1[i], l2[i])
			}
		}
		for i := range g1 {
			if g1[i] != g2[i] {
				t.Fatalf("%s: grad[%d] %g then %g", tc.name, i, g1[i], g2[i])
			}
		}
	}
}

// A NoGrad pass recycles each block's buffers as it goes; its outputs, and
// the activations its hooks see, must equal an ordinary pass's.
func TestNoGradPassMatches(t *testing.T) {
	for _, tc := range testConfigs {
		m := randomModel(t, tc.cfg)
		rng := rand.New(rand.NewPCG(10, 10))
		B, T := 2, m.Config.NCtx
		toks, tgts := randomTokens(rng, B*T, m.Config.DVocab), randomTokens(rng, B*T, m.Config.DVocab)
		run := func(noGrad bool) (*Pass, map[string][]float32) {
			seen := map[string][]float32{}
			p, err := m.Forward(toks, B, T, tgts, &Options{NoGrad: noGrad, AttnResult: true, Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
				seen[n] = append([]float32(nil), a.Data...)
				return nil, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			return p, seen
		}
		full, fullActs := run(false)
		for i := 0; i < 2; i++ { // the second time on recycled buffers
			lean, leanActs := run(true)
			if lean.Loss != full.Loss {
				t.Fatalf("%s: NoGrad loss %g, ordinary %g", tc.name, lean.Loss, full.Loss)
			}
			for j := range full.Logits.Data {
				if lean.Logits.Data[j] != full.Logits.Data[j] {
					t.Fatalf("%s: logits[%d] differ", tc.name, j)
				}
			}
			for n, want := range fullActs {
				got := leanActs[n]
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("%s: %s[%d] = %g under NoGrad, %g ordinarily", tc.name, n, j, got[j], want[j])
					}
				}
			}
			if err := m.Backward(lean, nil, nil); err == nil {
				t.Fatalf("%s: Backward accepted a NoGrad pass", tc.name)
			}
			lean.Release()
		}
	}
}

// Options.Keep under NoGrad: views of the kept activations, taken in a hook,
// still hold the values every later layer saw after the pass and after more
// passes have recycled the other buffers; the pass keeps one buffer per kept
// point beyond what a plain NoGrad pass keeps.
func TestNoGradKeep(t *testing.T) {
	for _, tc := range testConfigs {
		m := randomModel(t, tc.cfg)
		rng := rand.New(rand.NewPCG(11, 11))
		B, T := 2, m.Config.NCtx
		toks := randomTokens(rng, B*T, m.Config.DVocab)
		kept := map[string]bool{"blocks.0.attn.hook_pattern": true, "blocks.0.ln1.hook_normalized": true, "blocks.0.attn.hook_q": true}
		want := map[string][]float32{}
		if _, err := m.Forward(toks, B, T, nil, &Options{Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
			if kept[n] {
				want[n] = append([]float32(nil), a.Data...)
			}
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(kept) && tc.cfg.Normalization != NormNone {
			t.Fatalf("%s: saw %d of the kept points", tc.name, len(want))
		}
		views := map[string][]float32{}
		p, err := m.Forward(toks, B, T, nil, &Options{NoGrad: true, Keep: func(n string) bool { return kept[n] },
			Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
				if kept[n] {
					views[n] = a.Data
				}
				return nil, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := m.Forward(toks, B, T, nil, &Options{NoGrad: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, base := len(p.mem.bufs), len(plain.mem.bufs); got != base+len(want) {
			t.Errorf("%s: the pass keeps %d buffers, a plain NoGrad pass %d, %d points kept", tc.name, got, base, len(want))
		}
		plain.Release()
		for i := 0; i < 3; i++ {
			q, err := m.Forward(randomTokens(rng, B*T, m.Config.DVocab), B, T, nil, &Options{NoGrad: true})
			if err != nil {
				t.Fatal(err)
			}
			q.Release()
		}
		for n, w := range want {
			for j := range w {
				if views[n][j] != w[j] {
					t.Fatalf("%s: %s[%d] = %g after later passes, want %g", tc.name, n, j, views[n][j], w[j])
				}
			}
		}
		p.Release()
	}
}
