package models_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// TestHFGPT2Golden loads the Hugging Face-layout checkpoints written by
// testdata/hf_gpt2/gen.py (GPT2LMHeadModel with the "transformer." prefix,
// a stored tied lm_head and the attention buffers; GPT2Model without a
// prefix, head or buffers, n_inner set, ε 1e-6) and compares with PyTorch
// computing as transformers' modeling_gpt2 does: logits and activations
// under TransformerLens names; then processes the weights with all four
// steps and compares every parameter with TransformerLens's processing
// written in PyTorch, and the logits with the processed model's.
func TestHFGPT2Golden(t *testing.T) {
	const (
		logitTol = 1e-4
		actTol   = 1e-4
		paramTol = 1e-5
	)
	tests := []struct {
		dir  string
		want models.Config
	}{
		{"lmhead", models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 24, DVocab: 305}},
		{"model", models.Config{NLayers: 3, NHeads: 2, DModel: 16, DMLP: 48, NCtx: 12, DVocab: 50, LNEps: 1e-6}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "hf_gpt2", tt.dir)
			m, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want.WithDefaults(); m.Config != want {
				t.Fatalf("config %+v, want %+v", m.Config, want)
			}
			want, _, err := tensor.ReadSafetensors(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			tokT := want["tokens"]
			B, T := tokT.Shape[0], tokT.Shape[1]
			tokens := toInts(tokT.Data)

			acts := map[string]*tensor.Tensor{}
			hook := func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
				acts[n] = a.Clone()
				return nil, nil
			}
			pass, err := m.Forward(tokens, B, T, nil, &models.Options{Hook: hook})
			if err != nil {
				t.Fatal(err)
			}
			d := maxAbsDiff(t, "logits", pass.Logits, want["logits"])
			t.Logf("logits: max |diff| %.2e", d)
			if d > logitTol {
				t.Errorf("logits: max |diff| %.3g > %g", d, logitTol)
			}
			var worst float64
			n := 0
			for _, k := range sortedKeys(want, "act.") {
				name := strings.TrimPrefix(k, "act.")
				got, ok := acts[name]
				if !ok {
					t.Errorf("hook %s never fired", name)
					continue
				}
				d := maxAbsDiff(t, name, got, want[k])
				worst = max(worst, d)
				n++
				if d > actTol {
					t.Errorf("activation %s: max |diff| %.3g > %g", name, d, actTol)
				}
			}
			t.Logf("activations: max |diff| %.2e over %d hook points", worst, n)
			if n < 15 {
				t.Errorf("only %d activations compared", n)
			}

			if err := models.Process(m, models.AllProcessing); err != nil {
				t.Fatal(err)
			}
			worst, n = 0, 0
			for _, k := range sortedKeys(want, "processed.") {
				name := strings.TrimPrefix(k, "processed.")
				got := m.Params.Get(name)
				if got == nil {
					t.Errorf("processed model has no %s", name)
					continue
				}
				d := maxAbsDiff(t, name, got, want[k])
				worst = max(worst, d)
				n++
				if d > paramTol {
					t.Errorf("processed %s: max |diff| %.3g from TransformerLens's processing > %g", name, d, paramTol)
				}
			}
			if n != len(m.Params.List()) {
				t.Errorf("compared %d processed tensors, the model has %d", n, len(m.Params.List()))
			}
			t.Logf("processed parameters: max |diff| %.2e over %d tensors", worst, n)
			pp, err := m.Forward(tokens, B, T, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			d = maxAbsDiff(t, "processed logits", pp.Logits, want["processed_logits"])
			t.Logf("processed logits: max |diff| %.2e", d)
			if d > logitTol {
				t.Errorf("processed logits: max |diff| %.3g > %g", d, logitTol)
			}
		})
	}
}
