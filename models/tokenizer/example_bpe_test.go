package tokenizer_test

import (
	"fmt"
	"path/filepath"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

func ExamplePreTokenize() {
	fmt.Printf("%q\n", tokenizer.PreTokenize("I'll say it  twice: 42!\n"))
	// Output:
	// ["I" "'ll" " say" " it" " " " twice" ":" " 42" "!" "\n"]
}

func ExampleLoadBPE() {
	// A model directory as Hugging Face serves it holds vocab.json and
	// merges.txt; this one is hand-made, with GPT-2's byte ids.
	tok, err := tokenizer.LoadBPE(filepath.Join("..", "..", "testdata", "tokenizer"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.EncodeSpecial("<|endoftext|>Hello world")
	fmt.Println(ids)
	for _, id := range ids {
		s, _ := tok.Token(id)
		fmt.Printf("%q\n", s)
	}
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// [304 268 272]
	// "<|endoftext|>"
	// "Hello"
	// "Ġworld"
	// "<|endoftext|>Hello world"
}
