package data_test

import (
	"fmt"
	"strings"

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

func ExampleNewMixture() {
	base, err := data.NewSynthetic(data.SyntheticConfig{Vocab: 64, MinSpan: 3, MaxSpan: 6}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A budget of 20 sequences, half of them repeats of a subset seen 5
	// times; 4 held-out sequences for the test loss.
	m, err := data.NewMixture(base, data.MixtureConfig{Fraction: 0.5, Epochs: 5, Sequences: 20, HeldOut: 4}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("subset", m.Subset(), "repeated share", m.RepeatedShare())
	// The training order: r<item> repeats subset item, u<rank> is the
	// unique sequence of that rank. Repeats are spread evenly, each epoch
	// showing the subset in its own order.
	var slots []string
	for i := range uint64(20) {
		rep, item, _ := m.Slot(i)
		if rep {
			slots = append(slots, fmt.Sprint("r", item))
		} else {
			slots = append(slots, fmt.Sprint("u", item))
		}
	}
	fmt.Println(strings.Join(slots, " "))
	_, _, err = m.Slot(20)
	fmt.Println(err)
	// Output:
	// subset 2 repeated share 0.5
	// u0 r0 u1 r1 u2 r0 u3 r1 u4 r0 u5 r1 u6 r1 u7 r0 u8 r0 u9 r1
	// data: mixture: sequence 20 is past the training budget: the budget of 20 sequences is spent
}
