package models

import (
	"fmt"
	"strconv"
	"strings"
)

// actKind says where a short activation name lives.
type actKind int

const (
	actTop   actKind = iota // outside the blocks: hook_embed, ln_final.hook_scale
	actBlock                // blocks.{l}.hook_X
	actAttn                 // blocks.{l}.attn.hook_X
	actMLP                  // blocks.{l}.mlp.hook_X
	actLN                   // blocks.{l}.ln1.hook_X, blocks.{l}.ln2.hook_X
)

// actNames maps every short name ActName accepts to its kind and, for
// TransformerLens's aliases (attn for pattern, query for q ...), the leaf it
// stands for.
var actNames = map[string]struct {
	kind actKind
	leaf string
}{
	"embed":               {actTop, "hook_embed"},
	"pos_embed":           {actTop, "hook_pos_embed"},
	"ln_final.scale":      {actTop, "ln_final.hook_scale"},
	"ln_final.normalized": {actTop, "ln_final.hook_normalized"},

	"resid_pre":  {actBlock, "hook_resid_pre"},
	"resid_mid":  {actBlock, "hook_resid_mid"},
	"resid_post": {actBlock, "hook_resid_post"},
	"attn_out":   {actBlock, "hook_attn_out"},
	"mlp_out":    {actBlock, "hook_mlp_out"},
	"q_input":    {actBlock, "hook_q_input"},
	"k_input":    {actBlock, "hook_k_input"},
	"v_input":    {actBlock, "hook_v_input"},
	"mlp_in":     {actBlock, "hook_mlp_in"},

	"q":           {actAttn, "hook_q"},
	"k":           {actAttn, "hook_k"},
	"v":           {actAttn, "hook_v"},
	"query":       {actAttn, "hook_q"},
	"key":         {actAttn, "hook_k"},
	"value":       {actAttn, "hook_v"},
	"attn_scores": {actAttn, "hook_attn_scores"},
	"attn_logits": {actAttn, "hook_attn_scores"},
	"pattern":     {actAttn, "hook_pattern"},
	"attn":        {actAttn, "hook_pattern"},
	"z":           {actAttn, "hook_z"},
	"result":      {actAttn, "hook_result"},
	"rot_q":       {actAttn, "hook_rot_q"},
	"rot_k":       {actAttn, "hook_rot_k"},

	"pre":        {actMLP, "hook_pre"},
	"post":       {actMLP, "hook_post"},
	"pre_linear": {actMLP, "hook_pre_linear"},
	"mlp_pre":    {actMLP, "hook_pre"},
	"mlp_post":   {actMLP, "hook_post"},

	"ln1.scale":      {actLN, "ln1.hook_scale"},
	"ln1.normalized": {actLN, "ln1.hook_normalized"},
	"ln2.scale":      {actLN, "ln2.hook_scale"},
	"ln2.normalized": {actLN, "ln2.hook_normalized"},
}

// ActName returns the full TransformerLens name of a hook point from its
// short name and layer, as TransformerLens's utils.get_act_name does, so that
// no caller formats hook names by hand:
//
//	ActName("pattern", 1)             // "blocks.1.attn.hook_pattern"
//	ActName("resid_pre", 0)           // "blocks.0.hook_resid_pre"
//	ActName("post", 2)                // "blocks.2.mlp.hook_post"
//	ActName("ln1.scale", 0)           // "blocks.0.ln1.hook_scale"
//	ActName("embed", 0)               // "hook_embed"
//	ActName("ln_final.normalized", 0) // "ln_final.hook_normalized"
//
// Short names are the hook's leaf without "hook_" (embed, pos_embed,
// resid_pre, resid_mid, resid_post, attn_out, mlp_out, q_input, k_input,
// v_input, mlp_in, q, k, v, attn_scores, pattern, z, result, rot_q, rot_k,
// pre, pre_linear, post), TransformerLens's aliases (attn, attn_logits,
// query, key, value, mlp_pre, mlp_post), and the LayerNorm points prefixed by
// their LayerNorm (ln1.scale, ln2.normalized, ln_final.scale ...). Names
// outside the blocks ignore layer. A full name (one with "hook_" in it) is
// returned unchanged. ActName does not check that a model of some config has
// the point (HookShape does). It panics on a short name it does not know:
// names are constants in code, and a misspelt one is a bug to catch at once,
// as regexp.MustCompile does.
func ActName(name string, layer int) string {
	if strings.Contains(name, "hook_") {
		return name
	}
	a, ok := actNames[name]
	if !ok {
		panic(fmt.Sprintf("models.ActName: unknown activation name %q", name))
	}
	switch a.kind {
	case actTop:
		return a.leaf
	case actAttn:
		return blockPrefix(layer) + "attn." + a.leaf
	case actMLP:
		return blockPrefix(layer) + "mlp." + a.leaf
	default:
		return blockPrefix(layer) + a.leaf
	}
}

func blockPrefix(layer int) string { return "blocks." + strconv.Itoa(layer) + "." }

// HookNames lists, in the order Forward fires them, the TransformerLens names
// of every hook point of a model with this config. attnResult includes
// blocks.{l}.attn.hook_result (see Options.AttnResult).
func HookNames(c Config, attnResult bool) []string {
	return OptionHookNames(c, Options{AttnResult: attnResult})
}

// OptionHookNames lists, in the order Forward fires them, the hook points of
// a pass run with o: HookNames's, with hook_result for o.AttnResult and,
// for o.SplitInputs, hook_q_input, hook_k_input, hook_v_input and
// hook_mlp_in in place of ln1's points.
func OptionHookNames(c Config, o Options) []string {
	c = c.WithDefaults()
	names := []string{ActName("embed", 0)}
	if c.HasPosEmbed() {
		names = append(names, ActName("pos_embed", 0))
	}
	add := func(l int, short ...string) {
		for _, s := range short {
			names = append(names, ActName(s, l))
		}
	}
	for l := 0; l < c.NLayers; l++ {
		add(l, "resid_pre")
		switch {
		case o.SplitInputs:
			add(l, "q_input", "k_input", "v_input")
		case c.HasNorm():
			add(l, "ln1.scale", "ln1.normalized")
		}
		add(l, "q", "k", "v")
		if c.Positional == PosRotary {
			add(l, "rot_q", "rot_k")
		}
		add(l, "attn_scores", "pattern", "z")
		if o.AttnResult {
			add(l, "result")
		}
		add(l, "attn_out")
		if !c.AttnOnly {
			if !c.ParallelAttnMLP {
				add(l, "resid_mid")
			}
			if o.SplitInputs {
				add(l, "mlp_in")
			}
			if c.HasNorm() {
				add(l, "ln2.scale", "ln2.normalized")
			}
			add(l, "pre")
			if c.GatedMLP {
				add(l, "pre_linear")
			}
			add(l, "post", "mlp_out")
		}
		add(l, "resid_post")
	}
	if c.HasNorm() {
		add(0, "ln_final.scale", "ln_final.normalized")
	}
	return names
}

// AllHookNames lists every hook point some Options fire in a model with this
// config: HookNames's with hook_result, then each block's split inputs.
func AllHookNames(c Config) []string {
	c = c.WithDefaults()
	names := HookNames(c, true)
	for l := 0; l < c.NLayers; l++ {
		for _, s := range qkvInputNames {
			names = append(names, ActName(s, l))
		}
		if !c.AttnOnly {
			names = append(names, ActName("mlp_in", l))
		}
	}
	return names
}

// HookShape returns the shape of the named hook point's activation for a
// batch of B sequences of T tokens, or an error for a name the config does
// not have. A "_grad" suffix names the gradient, which has the same shape.
func HookShape(c Config, name string, B, T int) ([]int, error) {
	c = c.WithDefaults()
	base := strings.TrimSuffix(name, "_grad")
	found := false
	for _, n := range AllHookNames(c) {
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
	case "hook_q", "hook_z", "hook_rot_q":
		return []int{B, T, c.NHeads, c.DHead}, nil
	case "hook_k", "hook_v", "hook_rot_k":
		return []int{B, T, c.NKVHeads, c.DHead}, nil
	case "hook_attn_scores", "hook_pattern":
		return []int{B, c.NHeads, T, T}, nil
	case "hook_result", "hook_q_input":
		return []int{B, T, c.NHeads, c.DModel}, nil
	case "hook_k_input", "hook_v_input":
		return []int{B, T, c.NKVHeads, c.DModel}, nil
	case "hook_scale":
		return []int{B, T, 1}, nil
	case "hook_pre", "hook_post", "hook_pre_linear":
		return []int{B, T, c.DMLP}, nil
	default:
		return []int{B, T, c.DModel}, nil
	}
}
