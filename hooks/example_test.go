package hooks_test

import (
	"fmt"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
)

// Run a model once and keep only the attention patterns.
func ExampleRunWithCache() {
	m, err := models.New(models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 16, DVocab: 50, AttnOnly: true})
	if err != nil {
		panic(err)
	}
	tokens := []int{1, 7, 3, 9, 1, 7}
	_, cache, err := hooks.RunWithCache(m, tokens, 1, len(tokens), hooks.MustFilter("blocks.*.attn.hook_pattern"))
	if err != nil {
		panic(err)
	}
	fmt.Println(cache.Names())
	fmt.Println(cache.Get("blocks.1.attn.hook_pattern").Shape)
	// Output:
	// [blocks.0.attn.hook_pattern blocks.1.attn.hook_pattern]
	// [1 4 6 6]
}

// Zero-ablate head 1.2 and compare the loss.
func ExampleZeroAblateHead() {
	m, _ := models.New(models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 16, DVocab: 50, AttnOnly: true})
	tokens, targets := []int{1, 7, 3, 9}, []int{7, 3, 9, 1}
	plain, _ := hooks.RunWithHooks(m, tokens, 1, 4, targets)
	ablated, _ := hooks.RunWithHooks(m, tokens, 1, 4, targets, hooks.ZeroAblateHead(1, 2))
	fmt.Println(plain.Loss != ablated.Loss)
	// Output: true
}
