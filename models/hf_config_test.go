package models

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHFConfigJSON: config.json carries GPT-2's keys and the mechinterp_* extensions.
func TestHFConfigJSON(t *testing.T) {
	cfg := Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 6, DVocab: 11, Seed: 42}
	b, err := MarshalHFConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"model_type": "gpt2", "vocab_size": 11.0, "n_positions": 6.0, "n_ctx": 6.0, "n_embd": 8.0,
		"n_layer": 2.0, "n_head": 2.0, "n_inner": nil, "activation_function": "gelu_new",
		"layer_norm_epsilon": 1e-5, "tie_word_embeddings": true, "resid_pdrop": 0.0,
		"mechinterp_attn_only": false, "mechinterp_normalization": "LN", "mechinterp_positional": "standard",
		"mechinterp_d_head": 4.0, "mechinterp_seed": 42.0, "mechinterp_format_version": 1.0,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if a, _ := m["architectures"].([]any); len(a) != 1 || a[0] != "GPT2LMHeadModel" {
		t.Errorf("architectures = %v", m["architectures"])
	}
	cfg.DMLP = 10
	b, _ = MarshalHFConfig(cfg)
	json.Unmarshal(b, &m)
	if m["n_inner"] != 10.0 {
		t.Errorf("n_inner = %v, want 10", m["n_inner"])
	}
	if !strings.Contains(string(b), `"layer_norm_epsilon": 1e-05`) {
		t.Errorf("epsilon not written as 1e-05:\n%s", b)
	}
}
