package circuits_test

import (
	"fmt"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
)

// Score every head's full OV circuit and list the strongest K-composition.
func ExampleAnalyze() {
	m, err := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, AttnOnly: true, Seed: 1})
	if err != nil {
		panic(err)
	}
	a, err := circuits.Analyze(m, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(a.Heads), "heads;", len(a.Heads[0].OVEigenvalues), "OV eigenvalues each (d_head)")
	k := a.Scores(circuits.KComposition)
	fmt.Println(len(k.Pairs()), "K-composition pairs; baseline from", k.Baseline.Samples, "random draws")
	// Output:
	// 4 heads; 8 OV eigenvalues each (d_head)
	// 4 K-composition pairs; baseline from 200 random draws
}

// The eigenvalues of a factored matrix come from its small k x k factor.
func ExampleFactored() {
	m, _ := models.New(models.Config{NLayers: 1, NHeads: 4, DModel: 32, NCtx: 8, DVocab: 50, AttnOnly: true})
	ov := circuits.FullOV(m, 0, 2) // [50,50], rank 8
	r, c := ov.Dims()
	fmt.Println(r, c, ov.Inner(), len(ov.Eigenvalues()))
	// Output: 50 50 8 8
}

// Which head carries the answer: patch clean activations into a corrupted run.
func ExamplePatch() {
	m, _ := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, AttnOnly: true, Seed: 2, InitializerRange: 0.3})
	clean, corrupted := []int{3, 7, 1, 7, 2}, []int{3, 8, 1, 7, 2}
	r, err := circuits.Patch(m, clean, corrupted, 1, 4, circuits.PatchOptions{SkipHeadPos: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("resid_pre 0 at the corrupted position restores %.2f\n", r.Resid[0][1])
	// Output: resid_pre 0 at the corrupted position restores 1.00
}
