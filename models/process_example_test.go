package models_test

import (
	"fmt"
	"path/filepath"

	"github.com/mechinterp/mechinterp/models"
)

// ExampleProcess loads a Hugging Face GPT-2 directory and processes its
// weights as TransformerLens's from_pretrained does by default.
func ExampleProcess() {
	m, err := models.Load(filepath.Join("..", "testdata", "hf_gpt2", "lmhead"))
	if err != nil {
		fmt.Println(err)
		return
	}
	tokens := []int{268, 272, 11} // "Hello world,"
	top := func() int {
		p, _ := m.Forward(tokens, 1, len(tokens), nil, nil)
		row := p.Logits.Data[2*m.Config.DVocab:]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		return best
	}
	before := top()
	opts, _ := models.ParseProcessOptions("fold_ln,center_writing,center_unembed,fold_value_biases")
	if err := models.Process(m, opts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("steps:", models.ProcessedSteps(m))
	fmt.Println("untied:", m.Config.Untied, "ln_f gain:", m.Params.Get("ln_f.weight").Data[0])
	fmt.Println("same top token:", top() == before)
	// Output:
	// steps: fold_ln,center_writing,center_unembed,fold_value_biases
	// untied: true ln_f gain: 1
	// same top token: true
}
