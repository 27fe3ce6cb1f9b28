package models

import (
	"slices"
	"testing"
)

func TestActName(t *testing.T) {
	tests := []struct {
		short string
		layer int
		want  string
	}{
		{"pattern", 1, "blocks.1.attn.hook_pattern"},
		{"attn", 1, "blocks.1.attn.hook_pattern"},
		{"resid_pre", 0, "blocks.0.hook_resid_pre"},
		{"resid_mid", 3, "blocks.3.hook_resid_mid"},
		{"resid_post", 11, "blocks.11.hook_resid_post"},
		{"attn_out", 2, "blocks.2.hook_attn_out"},
		{"mlp_out", 2, "blocks.2.hook_mlp_out"},
		{"q", 0, "blocks.0.attn.hook_q"},
		{"key", 0, "blocks.0.attn.hook_k"},
		{"value", 0, "blocks.0.attn.hook_v"},
		{"attn_scores", 1, "blocks.1.attn.hook_attn_scores"},
		{"attn_logits", 1, "blocks.1.attn.hook_attn_scores"},
		{"z", 1, "blocks.1.attn.hook_z"},
		{"result", 1, "blocks.1.attn.hook_result"},
		{"pre", 2, "blocks.2.mlp.hook_pre"},
		{"mlp_post", 2, "blocks.2.mlp.hook_post"},
		{"ln1.scale", 0, "blocks.0.ln1.hook_scale"},
		{"ln2.normalized", 1, "blocks.1.ln2.hook_normalized"},
		{"q_input", 1, "blocks.1.hook_q_input"},
		{"k_input", 0, "blocks.0.hook_k_input"},
		{"v_input", 2, "blocks.2.hook_v_input"},
		{"mlp_in", 3, "blocks.3.hook_mlp_in"},
		{"embed", 5, "hook_embed"},
		{"pos_embed", 0, "hook_pos_embed"},
		{"ln_final.scale", 0, "ln_final.hook_scale"},
		{"ln_final.normalized", 0, "ln_final.hook_normalized"},
		// Full names pass through.
		{"blocks.4.attn.hook_z", 0, "blocks.4.attn.hook_z"},
		{"ln_final.hook_normalized", 0, "ln_final.hook_normalized"},
	}
	for _, tt := range tests {
		if got := ActName(tt.short, tt.layer); got != tt.want {
			t.Errorf("ActName(%q, %d) = %q, want %q", tt.short, tt.layer, got, tt.want)
		}
	}
}

func TestActNamePanicsOnUnknown(t *testing.T) {
	for _, name := range []string{"", "patern", "scale", "normalized", "blocks.0.attn"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ActName(%q, 0) did not panic", name)
				}
			}()
			ActName(name, 0)
		}()
	}
}

func TestHookNames(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		attnResult bool
		want       []string
	}{
		{"MLP with LayerNorm", Config{NLayers: 1, DModel: 8, NHeads: 2, DVocab: 5, NCtx: 4}, false, []string{
			"hook_embed", "hook_pos_embed",
			"blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
			"blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
			"blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
			"blocks.0.hook_attn_out", "blocks.0.hook_resid_mid",
			"blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized",
			"blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
			"blocks.0.hook_resid_post",
			"ln_final.hook_scale", "ln_final.hook_normalized",
		}},
		{"attention-only without LayerNorm", Config{NLayers: 2, DModel: 8, NHeads: 2, DVocab: 5, NCtx: 4,
			AttnOnly: true, Normalization: NormNone}, true, []string{
			"hook_embed", "hook_pos_embed",
			"blocks.0.hook_resid_pre",
			"blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
			"blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
			"blocks.0.attn.hook_result", "blocks.0.hook_attn_out", "blocks.0.hook_resid_post",
			"blocks.1.hook_resid_pre",
			"blocks.1.attn.hook_q", "blocks.1.attn.hook_k", "blocks.1.attn.hook_v",
			"blocks.1.attn.hook_attn_scores", "blocks.1.attn.hook_pattern", "blocks.1.attn.hook_z",
			"blocks.1.attn.hook_result", "blocks.1.hook_attn_out", "blocks.1.hook_resid_post",
		}},
		{"GPT-NeoX: rotary, parallel (TransformerLens has no resid_mid there)", Config{NLayers: 1, DModel: 8, NHeads: 2,
			DVocab: 5, NCtx: 4, Positional: PosRotary, ParallelAttnMLP: true}, false, []string{
			"hook_embed",
			"blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
			"blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
			"blocks.0.attn.hook_rot_q", "blocks.0.attn.hook_rot_k",
			"blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
			"blocks.0.hook_attn_out",
			"blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized",
			"blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
			"blocks.0.hook_resid_post",
			"ln_final.hook_scale", "ln_final.hook_normalized",
		}},
		{"Llama: RMSNorm, gated MLP", Config{NLayers: 1, DModel: 8, NHeads: 2, NKVHeads: 1, DVocab: 5, NCtx: 4,
			Normalization: NormRMS, Positional: PosRotary, GatedMLP: true, ActFn: ActSilu}, false, []string{
			"hook_embed",
			"blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
			"blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
			"blocks.0.attn.hook_rot_q", "blocks.0.attn.hook_rot_k",
			"blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
			"blocks.0.hook_attn_out", "blocks.0.hook_resid_mid",
			"blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized",
			"blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_pre_linear", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
			"blocks.0.hook_resid_post",
			"ln_final.hook_scale", "ln_final.hook_normalized",
		}},
	}
	// Split inputs replace ln1's points and add hook_mlp_in after resid_mid.
	split := []string{
		"hook_embed", "hook_pos_embed",
		"blocks.0.hook_resid_pre", "blocks.0.hook_q_input", "blocks.0.hook_k_input", "blocks.0.hook_v_input",
		"blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
		"blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
		"blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_in",
		"blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized",
		"blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
		"blocks.0.hook_resid_post",
		"ln_final.hook_scale", "ln_final.hook_normalized",
	}
	if got := OptionHookNames(tests[0].cfg, Options{SplitInputs: true}); !slices.Equal(got, split) {
		t.Errorf("OptionHookNames(SplitInputs) =\n%q\nwant\n%q", got, split)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HookNames(tt.cfg, tt.attnResult); !slices.Equal(got, tt.want) {
				t.Errorf("HookNames =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestHead(t *testing.T) {
	tests := []struct {
		h Head
		s string
	}{
		{Head{0, 0}, "L0H0"},
		{Head{1, 2}, "L1H2"},
		{Head{11, 10}, "L11H10"},
	}
	for _, tt := range tests {
		if got := tt.h.String(); got != tt.s {
			t.Errorf("%#v.String() = %q, want %q", tt.h, got, tt.s)
		}
		got, err := ParseHead(tt.s)
		if err != nil || got != tt.h {
			t.Errorf("ParseHead(%q) = %v, %v, want %v", tt.s, got, err, tt.h)
		}
	}
	for _, bad := range []string{"", "L1", "H2", "L1H", "L1H2x", "l1h2", "L-1H2", "L01H2", " L1H2"} {
		if h, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) = %v, want an error", bad, h)
		}
	}
}
