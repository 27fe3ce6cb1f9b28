package models

import (
	"math"
	"strings"
	"testing"
)

// TestInitPyTorch checks each parameter's distribution under Init "pytorch"
// against PyTorch's defaults: N(0,1) embeddings, U(±1/√fan_in) for every
// Linear weight and bias, LayerNorm 1 and 0.
func TestInitPyTorch(t *testing.T) {
	cfg := Config{NLayers: 2, NHeads: 4, DModel: 64, DHead: 16, NCtx: 64, DVocab: 128,
		Untied: true, Init: InitPyTorch, Seed: 7}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := New(Config{NLayers: 1, NHeads: 2, DModel: 32, NCtx: 16, DVocab: 50, Init: InitPyTorch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m     *Model
		name  string
		bound float64 // uniform bound; 0 means N(0,1); -1 a constant
		value float64 // the constant
	}{
		{m, "wte.weight", 0, 0},
		{m, "wpe.weight", 0, 0},
		{m, "h.0.ln_1.weight", -1, 1},
		{m, "h.1.ln_1.bias", -1, 0},
		{m, "h.0.attn.c_attn.weight", 1 / 8.0, 0},
		{m, "h.0.attn.c_attn.bias", 1 / 8.0, 0},
		{m, "h.1.attn.c_proj.weight", 1 / 8.0, 0},
		{m, "h.1.attn.c_proj.bias", 1 / 8.0, 0},
		{m, "ln_f.weight", -1, 1},
		{m, "lm_head.weight", 1 / 8.0, 0},
		{m, "lm_head.bias", 1 / 8.0, 0},
		{mlp, "h.0.mlp.c_fc.weight", 1 / math.Sqrt(32), 0},
		{mlp, "h.0.mlp.c_proj.weight", 1 / math.Sqrt(128), 0},
		{mlp, "lm_head.bias", 1 / math.Sqrt(32), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.m.Params.Get(tc.name).Data
			var sum, sq, maxAbs float64
			for _, v := range s {
				x := float64(v)
				sum += x
				sq += x * x
				maxAbs = max(maxAbs, math.Abs(x))
			}
			n := float64(len(s))
			mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
			switch {
			case tc.bound < 0:
				for _, v := range s {
					if float64(v) != tc.value {
						t.Fatalf("value %g, want all %g", v, tc.value)
					}
				}
			case tc.bound == 0:
				if math.Abs(mean) > 5/math.Sqrt(n) || math.Abs(std-1) > 0.05 {
					t.Errorf("mean %.3f std %.3f, want N(0, 1)", mean, std)
				}
			default:
				// U(-b, b): std b/√3, nothing beyond b, and most of [-b, b] used.
				want := tc.bound / math.Sqrt(3)
				if maxAbs > tc.bound || maxAbs < 0.9*tc.bound || math.Abs(std-want) > 0.15*want {
					t.Errorf("max |x| %.4f std %.4f, want U(±%.4f) (std %.4f)", maxAbs, std, tc.bound, want)
				}
			}
		})
	}
}

func TestInitValidate(t *testing.T) {
	_, err := New(Config{NLayers: 1, NHeads: 1, DModel: 8, NCtx: 4, DVocab: 5, Init: "xavier"})
	if err == nil || !strings.Contains(err.Error(), "init") {
		t.Errorf("init xavier: err = %v, want an error naming init", err)
	}
}
