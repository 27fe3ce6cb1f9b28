package data_test

import (
	"fmt"

	"github.com/mechinterp/mechinterp/data"
)

func ExampleRepeatedBatch() {
	cfg := data.RepeatedConfig{Vocab: 128, Len: 5, Repeats: 2, MinToken: 10, MaxToken: 100}
	b, err := data.RepeatedBatch(cfg, 2, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range b.B {
		fmt.Println(b.Row(i), b.Spans[i])
	}
	// Output:
	// [0 32 61 47 32 42 32 61 47 32 42] [{1 6 5}]
	// [0 13 92 62 25 83 13 92 62 25 83] [{1 6 5}]
}

func ExampleNew() {
	src, err := data.New(data.Config{Kind: data.KindSynthetic, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := data.NewBatch(32, 64)
	for range 10 { // train for 10 steps ...
		if err := src.Next(b); err != nil {
			fmt.Println(err)
			return
		}
	}
	state, _ := src.State() // ... save beside the checkpoint ...

	resumed, _ := data.New(data.Config{Kind: data.KindSynthetic, Seed: 1})
	if err := resumed.Restore(state); err != nil { // ... and resume
		fmt.Println(err)
		return
	}
	next, again := data.NewBatch(32, 64), data.NewBatch(32, 64)
	src.Next(next)
	resumed.Next(again)
	fmt.Println("vocab", src.Vocab(), "same batch after resume:", fmt.Sprint(next.Tokens) == fmt.Sprint(again.Tokens))
	sp := next.Spans[0][0]
	fmt.Println("row 0 repeats", sp.Len, "tokens:", fmt.Sprint(next.Row(0)[sp.Src:sp.Src+sp.Len]) == fmt.Sprint(next.Row(0)[sp.Dst:sp.Dst+sp.Len]))
	// Output:
	// vocab 128 same batch after resume: true
	// row 0 repeats 14 tokens: true
}
