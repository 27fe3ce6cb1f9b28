package probes

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// TestDetectorGolden compares every kind and option with TransformerLens's
// head_detector run in PyTorch (testdata/probes/gen.py) on random patterns,
// causal and dense, prompt by prompt and averaged over the batch.
func TestDetectorGolden(t *testing.T) {
	ts, _, err := safetensors.Read("../testdata/probes/detector.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	toks, pats, exp, batch := ts["tokens"], ts["patterns"], ts["expected"], ts["batch"]
	N, T := toks.Shape[0], toks.Shape[1]
	tokens := make([]int, N*T)
	for i, v := range toks.Data {
		tokens[i] = int(v)
	}
	opts := []DetectOptions{{}, {ExcludeBOS: true}, {ExcludeDiagonal: true}, {ExcludeBOS: true, ExcludeDiagonal: true}}
	checked := 0
	for k, kind := range Kinds {
		for o, opt := range opts {
			for n := range N {
				got := PatternScore(kind, pats.Data[n*T*T:(n+1)*T*T], tokens[n*T:(n+1)*T], opt)
				want := float64(exp.At(n, k, o))
				if math.Abs(got-want) > 1e-5 {
					t.Errorf("%s %+v prompt %d: %v, PyTorch %v", kind, opt, n, got, want)
				}
				checked++
			}
			// The batch as one layer of N prompts and one head.
			p := tensor.View(pats.Data, N, 1, T, T)
			got, err := ScorePatterns(kind, p, tokens, opt)
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(batch.At(k, o)); math.Abs(got[0]-want) > 1e-5 {
				t.Errorf("%s %+v batch: %v, PyTorch %v", kind, opt, got[0], want)
			}
		}
	}
	if checked != 3*4*N || N < 8 {
		t.Errorf("checked %d scores over %d prompts", checked, N)
	}
}
