package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestKVCacheMatchesFullForward runs every architecture step by step with a
// key/value cache (a prompt of 2, then chunks of 1 and 2 tokens) and checks
// each step's logits against one full forward pass over the whole sequence.
func TestKVCacheMatchesFullForward(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(11, 11))
			B, T, V := 2, m.Config.NCtx, m.Config.DVocab
			tokens := randomTokens(rng, B*T, V)
			full, err := m.Forward(tokens, B, T, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			kv := m.NewKVCache(B)
			var patterns []int
			hook := func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
				if name == "blocks.0.attn.hook_pattern" {
					patterns = append(patterns, act.Shape[3])
				}
				return nil, nil
			}
			chunks := []int{2, 1, 2}
			for pos := 0; pos < T; {
				n := chunks[0]
				if len(chunks) > 1 {
					chunks = chunks[1:]
				}
				n = min(n, T-pos)
				step := make([]int, 0, B*n)
				for b := 0; b < B; b++ {
					step = append(step, tokens[b*T+pos:b*T+pos+n]...)
				}
				p, err := m.Forward(step, B, n, nil, &Options{KV: kv, Hook: hook, NoGrad: true})
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					for i := 0; i < n; i++ {
						got := p.Logits.Data[(b*n+i)*V : (b*n+i+1)*V]
						want := full.Logits.Data[(b*T+pos+i)*V : (b*T+pos+i+1)*V]
						for j := range got {
							if d := math.Abs(float64(got[j] - want[j])); d > 1e-4*(1+math.Abs(float64(want[j]))) {
								t.Fatalf("position %d, row %d, logit %d: cached %g, full %g", pos+i, b, j, got[j], want[j])
							}
						}
					}
				}
				p.Release()
				pos += n
			}
			if kv.Len != T {
				t.Errorf("cache holds %d positions, want %d", kv.Len, T)
			}
			if patterns[0] != 2 || patterns[1] != 3 {
				t.Errorf("hook_pattern key lengths %v: want the cached positions (2, 3, ...)", patterns)
			}
			if _, err := m.Forward(tokens[:B], B, 1, nil, &Options{KV: kv}); err == nil || !strings.Contains(err.Error(), "n_ctx") {
				t.Errorf("beyond n_ctx: %v", err)
			}
		})
	}
}

// TestKVCacheDecodingSteps runs one token at a time far past the 4-key
// blocks of the per-head kernels, at one and two cores (with the team), on
// a model with full and with grouped key/value heads, against full passes.
func TestKVCacheDecodingSteps(t *testing.T) {
	for _, cfg := range []Config{
		{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 23, DVocab: 40, Seed: 8},
		{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 24, DHead: 5, DMLP: 20, NCtx: 23, DVocab: 37,
			Normalization: NormRMS, Positional: PosRotary, RotaryDim: 4, ActFn: ActSilu, GatedMLP: true, Untied: true, Seed: 9},
	} {
		m := randomModel(t, cfg)
		rng := rand.New(rand.NewPCG(5, 5))
		B, T, V := 3, cfg.NCtx, cfg.DVocab
		tokens := randomTokens(rng, B*T, V)
		full, err := m.Forward(tokens, B, T, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, procs := range []int{1, 2} {
			withTeam(t, procs, func() {
				kv := m.NewKVCache(B)
				for pos := 0; pos < T; pos++ {
					step := make([]int, B)
					for b := range step {
						step[b] = tokens[b*T+pos]
					}
					p, err := m.Forward(step, B, 1, nil, &Options{KV: kv, NoGrad: true})
					if err != nil {
						t.Fatal(err)
					}
					for b := 0; b < B; b++ {
						got := p.Logits.Data[b*V : (b+1)*V]
						want := full.Logits.Data[(b*T+pos)*V : (b*T+pos+1)*V]
						for j := range got {
							if d := math.Abs(float64(got[j] - want[j])); d > 1e-4*(1+math.Abs(float64(want[j]))) {
								t.Fatalf("procs %d position %d row %d logit %d: cached %g, full %g",
									procs, pos, b, j, got[j], want[j])
							}
						}
					}
					p.Release()
				}
			})
		}
	}
}

func TestKVCacheErrors(t *testing.T) {
	m := randomModel(t, testConfigs[0].cfg)
	kv := m.NewKVCache(2)
	if _, err := m.Forward([]int{1, 2, 3}, 1, 3, nil, &Options{KV: kv}); err == nil || !strings.Contains(err.Error(), "batches of 2") {
		t.Errorf("wrong batch: %v", err)
	}
	p, err := m.Forward([]int{1, 2}, 2, 1, nil, &Options{KV: kv})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(p, nil, &BackwardOptions{DLogits: p.Logits}); err == nil {
		t.Error("Backward through a cached pass: want an error")
	}
	other := randomModel(t, testConfigs[1].cfg)
	if _, err := other.Forward([]int{1, 2}, 2, 1, nil, &Options{KV: kv}); err == nil {
		t.Error("another model's cache: want an error")
	}
	kv.Reset()
	if kv.Len != 0 {
		t.Error("Reset left positions")
	}
}
