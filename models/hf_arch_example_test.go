package models_test

import (
	"fmt"
	"path/filepath"

	"github.com/mechinterp/mechinterp/models"
)

// A Hugging Face Llama directory (here a tiny random one, sharded in two
// files) loads as any checkpoint does; its hook points are TransformerLens's,
// with the rotated queries and keys and the gated MLP's linear branch.
func ExampleLoad_llama() {
	m, err := models.Load(filepath.Join("..", "testdata", "hf_arch", "llama_gqa_sharded"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c := m.Config
	fmt.Println(c.HFArchitecture, c.Normalization, c.Positional, c.NHeads, "query heads,", c.NKVHeads, "key/value heads")
	for _, n := range models.HookNames(c, false)[4:12] {
		shape, _ := models.HookShape(c, n, 1, 7)
		fmt.Println(n, shape)
	}
	// Output:
	// LlamaForCausalLM RMS rotary 4 query heads, 2 key/value heads
	// blocks.0.attn.hook_q [1 7 4 8]
	// blocks.0.attn.hook_k [1 7 2 8]
	// blocks.0.attn.hook_v [1 7 2 8]
	// blocks.0.attn.hook_rot_q [1 7 4 8]
	// blocks.0.attn.hook_rot_k [1 7 2 8]
	// blocks.0.attn.hook_attn_scores [1 4 7 7]
	// blocks.0.attn.hook_pattern [1 4 7 7]
	// blocks.0.attn.hook_z [1 7 4 8]
}
