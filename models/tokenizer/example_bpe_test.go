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

func ExampleLoadJSON() {
	// A Llama-2-style tokenizer.json (SentencePiece-style BPE with byte
	// fallback), built for the tests: its post-processor prepends <s>.
	tok, err := tokenizer.LoadJSON(filepath.Join("..", "..", "testdata", "tokenizer_json", "llama2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.EncodeSpecial("the fox 🦊")
	var pieces []string
	for _, id := range ids {
		s, _ := tok.Token(id)
		pieces = append(pieces, s)
	}
	fmt.Printf("%q\n%q\n", pieces, tok.Decode(ids[1:]))
	// Output:
	// ["<s>" "▁the" "▁fox" "▁" "<0xF0>" "<0x9F>" "<0xA6>" "<0x8A>"]
	// "the fox 🦊"
}
