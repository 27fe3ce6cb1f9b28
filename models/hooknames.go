package models

import (
	"fmt"
	"strconv"
	"strings"
)

// HookNames lists, in the order Forward fires them, the TransformerLens names
// of every hook point of a model with this config. attnResult includes
// blocks.{l}.attn.hook_result (see Options.AttnResult).
func HookNames(c Config, attnResult bool) []string {
	c = c.WithDefaults()
	names := []string{"hook_embed", "hook_pos_embed"}
	ln := func(prefix string) {
		if c.HasLN() {
			names = append(names, prefix+"hook_scale", prefix+"hook_normalized")
		}
	}
	for l := 0; l < c.NLayers; l++ {
		p := "blocks." + strconv.Itoa(l) + "."
		names = append(names, p+"hook_resid_pre")
		ln(p + "ln1.")
		names = append(names, p+"attn.hook_q", p+"attn.hook_k", p+"attn.hook_v",
			p+"attn.hook_attn_scores", p+"attn.hook_pattern", p+"attn.hook_z")
		if attnResult {
			names = append(names, p+"attn.hook_result")
		}
		names = append(names, p+"hook_attn_out")
		if !c.AttnOnly {
			names = append(names, p+"hook_resid_mid")
			ln(p + "ln2.")
			names = append(names, p+"mlp.hook_pre", p+"mlp.hook_post", p+"hook_mlp_out")
		}
		names = append(names, p+"hook_resid_post")
	}
	ln("ln_final.")
	return names
}

// HookShape returns the shape of the named hook point's activation for a
// batch of B sequences of T tokens, or an error for a name the config does
// not have. A "_grad" suffix names the gradient, which has the same shape.
func HookShape(c Config, name string, B, T int) ([]int, error) {
	c = c.WithDefaults()
	base := strings.TrimSuffix(name, "_grad")
	found := false
	for _, n := range HookNames(c, true) {
		if n == base {
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("models: no hook point named %q in this model", name)
	}
	leaf := base[strings.LastIndex(base, ".")+1:]
	switch leaf {
	case "hook_q", "hook_k", "hook_v", "hook_z":
		return []int{B, T, c.NHeads, c.DHead}, nil
	case "hook_attn_scores", "hook_pattern":
		return []int{B, c.NHeads, T, T}, nil
	case "hook_result":
		return []int{B, T, c.NHeads, c.DModel}, nil
	case "hook_scale":
		return []int{B, T, 1}, nil
	case "hook_pre", "hook_post":
		return []int{B, T, c.DMLP}, nil
	default:
		return []int{B, T, c.DModel}, nil
	}
}
