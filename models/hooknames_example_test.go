package models_test

import (
	"fmt"

	"github.com/mechinterp/mechinterp/models"
)

func ExampleActName() {
	fmt.Println(models.ActName("pattern", 1))
	fmt.Println(models.ActName("resid_pre", 0))
	fmt.Println(models.ActName("ln2.scale", 3))
	fmt.Println(models.ActName("embed", 0))
	fmt.Println(models.ActName("ln_final.normalized", 0))
	// Output:
	// blocks.1.attn.hook_pattern
	// blocks.0.hook_resid_pre
	// blocks.3.ln2.hook_scale
	// hook_embed
	// ln_final.hook_normalized
}

func ExampleHead() {
	h := models.Head{Layer: 1, Head: 2}
	fmt.Println(h)
	back, err := models.ParseHead("L1H2")
	fmt.Println(back == h, err)
	// Output:
	// L1H2
	// true <nil>
}
