package models_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// TestSplitInputsGolden compares a pass with split inputs (Options.
// SplitInputs), perturbed at three of them, with the PyTorch reference of
// testdata/split_inputs/gen.py on the GPT-2-shaped golden model: logits,
// loss, per-head queries and keys, the gradient at every split input and
// every parameter gradient.
func TestSplitInputsGolden(t *testing.T) {
	const tol = 1e-4 // max abs for values; gradients 1e-4 + 1e-3·|want|
	m, err := models.Load(filepath.Join("..", "testdata", "golden", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err := safetensors.Read(filepath.Join("..", "testdata", "golden", "gpt2", "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := safetensors.Read(filepath.Join("..", "testdata", "split_inputs", "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tokT := ref["tokens"]
	B, T := tokT.Shape[0], tokT.Shape[1]
	acts := map[string]*tensor.Tensor{}
	nDelta := 0
	pass, err := m.Forward(toInts(tokT.Data), B, T, toInts(ref["targets"].Data), &models.Options{SplitInputs: true,
		Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
			if d, ok := want["delta."+n]; ok {
				nDelta++
				for i, x := range d.Data {
					a.Data[i] += x
				}
			}
			acts[n] = a.Clone()
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if nDelta != 3 {
		t.Fatalf("%d of the 3 perturbed split inputs fired", nDelta)
	}
	if d := maxAbsDiff(t, "logits", pass.Logits, want["logits"]); d > tol {
		t.Errorf("logits: max |diff| %.3g", d)
	}
	if d := float64(pass.Loss - want["loss"].Data[0]); d > tol || d < -tol {
		t.Errorf("loss %v, want %v", pass.Loss, want["loss"].Data[0])
	}
	for _, k := range sortedKeys(want, "act.") {
		if d := maxAbsDiff(t, k, acts[strings.TrimPrefix(k, "act.")], want[k]); d > tol {
			t.Errorf("%s: max |diff| %.3g", k, d)
		}
	}
	grads := m.Params.ZerosLike()
	actGrads := map[string]*tensor.Tensor{}
	if err := m.Backward(pass, grads, &models.BackwardOptions{GradHook: func(n string, g *tensor.Tensor) error {
		actGrads[n] = g.Clone()
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, k := range sortedKeys(want, "actgrad.") {
		n := strings.TrimPrefix(k, "actgrad.") + "_grad"
		g, ok := actGrads[n]
		if !ok {
			t.Errorf("gradient hook %s never fired", n)
			continue
		}
		checked++
		if _, ratio := gradDiff(t, n, g, want[k], tol, 1e-3); ratio > 1 {
			t.Errorf("%s: %.2f× the tolerance", n, ratio)
		}
	}
	if checked != 8 { // q, k, v inputs and mlp_in in each of 2 layers
		t.Errorf("checked %d split-input gradients, want 8", checked)
	}
	for _, k := range sortedKeys(want, "grad.") {
		p := strings.TrimPrefix(k, "grad.")
		if _, ratio := gradDiff(t, p, grads.Get(p), want[k], tol, 1e-3); ratio > 1 {
			t.Errorf("gradient of %s: %.2f× the tolerance", p, ratio)
		}
	}
}
