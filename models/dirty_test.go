package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestDirtyBuffersFullyWritten runs every architecture under every kind of
// pass twice, once as usual and once with arena.getDirty's buffers filled
// with NaN (poisonDirty), and wants the same bits in the logits, at every
// hook point and in the gradients: a buffer the forward pass takes without
// zeroing and then writes only in part would carry NaN (or, outside tests,
// an earlier pass's values) into them. Sequences of 24 tokens in batches of
// 2 take the products' many-row paths (more than fewRows rows), single
// sequences of 5 the few-row ones.
func TestDirtyBuffersFullyWritten(t *testing.T) {
	type variant struct {
		name    string
		B, T    int
		opt     Options
		chunks  []int // with a KV cache: the positions each pass adds
		backOK  bool
		targets bool
		noHook  bool // the pass runs without a hook (attention's fused path)
	}
	variants := []variant{
		{name: "plain", B: 2, T: 24, backOK: true, targets: true},
		{name: "no-hook", B: 2, T: 24, backOK: true, targets: true, noHook: true},
		{name: "few-rows", B: 1, T: 5, backOK: true, targets: true},
		{name: "result-split", B: 2, T: 24, opt: Options{AttnResult: true, SplitInputs: true}, backOK: true, targets: true},
		{name: "nograd-keep", B: 2, T: 24, opt: Options{NoGrad: true, Keep: func(string) bool { return true }}},
		{name: "last-logits", B: 2, T: 24, opt: Options{lastLogits: true}},
		{name: "kv", B: 2, T: 24, opt: Options{NoGrad: true}, chunks: []int{17, 1, 6}},
	}
	for _, tc := range testConfigs {
		cfg := tc.cfg
		cfg.NCtx = 24
		m := randomModel(t, cfg)
		for _, v := range variants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 5))
				tokens := randomTokens(rng, v.B*v.T, cfg.DVocab)
				var targets []int
				if v.targets {
					targets = randomTokens(rng, v.B*v.T, cfg.DVocab)
				}
				// run returns every value the passes produced, in order.
				run := func(poison bool) []float32 {
					poisonDirty = poison
					defer func() { poisonDirty = false }()
					var out []float32
					opt := v.opt
					if !v.noHook {
						opt.Hook = func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
							out = append(out, act.Data...)
							return nil, nil
						}
					}
					chunks := v.chunks
					if chunks == nil {
						chunks = []int{v.T}
					} else {
						opt.KV = m.NewKVCache(v.B)
					}
					for pos, n := range prefixes(chunks) {
						step := make([]int, 0, v.B*n)
						for b := 0; b < v.B; b++ {
							step = append(step, tokens[b*v.T+pos:b*v.T+pos+n]...)
						}
						p, err := m.Forward(step, v.B, n, targets, &opt)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, p.Logits.Data...)
						out = append(out, p.Losses.Data...)
						if v.backOK {
							g := m.Params.ZerosLike()
							if err := m.Backward(p, g, nil); err != nil {
								t.Fatal(err)
							}
							out = append(out, g.Data...)
						}
						p.Release()
					}
					return out
				}
				want, got := run(false), run(true)
				if len(want) != len(got) {
					t.Fatalf("%d values, then %d poisoned", len(want), len(got))
				}
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("value %d: %g, with poisoned buffers %g", i, want[i], got[i])
					}
				}
			})
		}
	}
}

// prefixes maps each chunk's first position to its length, in order.
func prefixes(chunks []int) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		pos := 0
		for _, n := range chunks {
			if !yield(pos, n) {
				return
			}
			pos += n
		}
	}
}
