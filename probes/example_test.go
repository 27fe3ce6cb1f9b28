package probes_test

import (
	"fmt"

	"github.com/mechinterp/mechinterp/probes"
)

// Score one head's pattern against the previous-token detection pattern.
func ExamplePatternScore() {
	tokens := []int{0, 5, 6, 7}
	// Each query attends fully to the previous token (the first to itself).
	A := []float32{
		1, 0, 0, 0,
		1, 0, 0, 0,
		0, 1, 0, 0,
		0, 0, 1, 0,
	}
	fmt.Printf("%.2f\n", probes.PatternScore(probes.PreviousToken, A, tokens, probes.DetectOptions{}))
	fmt.Printf("%.2f\n", probes.PatternScore(probes.PreviousToken, A, tokens, probes.DetectOptions{ExcludeDiagonal: true}))
	// Output:
	// 0.75
	// 1.00
}

// The ICL score compares Olsson et al.'s 50th and 500th tokens, scaled to the context.
func ExampleICLPositions() {
	early, late, _ := probes.ICLPositions(64)
	fmt.Println(early, late)
	// Output: 6 62
}

// Locate the bump of a loss curve that plateaus and then drops.
func ExampleFindBump() {
	var steps []int
	var loss []float64
	for s := 1; s <= 1000; s++ {
		l := 3.0
		if s > 500 {
			l = 2
		} else if s > 400 {
			l = 3 - float64(s-400)/100
		}
		steps, loss = append(steps, s), append(loss, l+2/float64(s))
	}
	b := probes.FindBump(steps, loss, 0)
	fmt.Println(b.Found, b.Start < 450 && 450 < b.End)
	// Output: true true
}
