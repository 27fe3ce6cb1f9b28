package models_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
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
			want, _, err := safetensors.Read(filepath.Join(dir, "expected.safetensors"))
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

// copyHFDir copies testdata/hf_gpt2/<name> into a temporary directory,
// with config.json passed through edit.
func copyHFDir(t *testing.T, name string, edit func(string) string) string {
	t.Helper()
	src := filepath.Join("..", "testdata", "hf_gpt2", name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{models.ConfigFile, models.WeightsFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == models.ConfigFile && edit != nil {
			b = []byte(edit(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func replaceOnce(t *testing.T, old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("config.json has no %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// Keys Hugging Face may write or leave out load to the same model: no
// n_inner key at all (GPT-2's own config), n_inner equal to 4·n_embd,
// tie_word_embeddings true, the tanh GELU under either name.
func TestHFConfigVariants(t *testing.T) {
	want := models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 24, DVocab: 305}.WithDefaults()
	tests := []struct {
		name string
		edit func(string) string
	}{
		{"as written", nil},
		{"no n_inner key", replaceOnce(t, `"n_inner": null,`, ``)},
		{"n_inner 4*n_embd", replaceOnce(t, `"n_inner": null`, `"n_inner": 128`)},
		{"tie_word_embeddings true", replaceOnce(t, `"use_cache": true,`, `"use_cache": true, "tie_word_embeddings": true,`)},
		{"gelu_pytorch_tanh", replaceOnce(t, `"gelu_new"`, `"gelu_pytorch_tanh"`)},
		{"no architectures", replaceOnce(t, `"architectures": [
    "GPT2LMHeadModel"
  ],`, ``)},
		{"GPT2Model architecture", replaceOnce(t, `"GPT2LMHeadModel"`, `"GPT2Model"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := models.Load(copyHFDir(t, "lmhead", tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			if m.Config != want {
				t.Errorf("config %+v, want %+v", m.Config, want)
			}
		})
	}
}

// A Hugging Face directory with something wrong ends in one error line
// naming the directory and what is wrong.
func TestHFBadInput(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  []string
	}{
		{"missing model.safetensors", func(t *testing.T) string {
			d := copyHFDir(t, "lmhead", nil)
			os.Remove(filepath.Join(d, models.WeightsFile))
			os.WriteFile(filepath.Join(d, "pytorch_model.bin"), []byte("x"), 0o644)
			return d
		}, []string{"missing model.safetensors", "pytorch_model.bin"}},
		{"missing config.json", func(t *testing.T) string {
			d := copyHFDir(t, "model", nil)
			os.Remove(filepath.Join(d, models.ConfigFile))
			return d
		}, []string{"missing config.json"}},
		{"unsupported architecture", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"GPT2LMHeadModel"`, `"GPT2ForSequenceClassification"`))
		}, []string{"unsupported architectures [GPT2ForSequenceClassification]"}},
		{"other model type", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"model_type": "gpt2"`, `"model_type": "bert"`))
		}, []string{`unsupported model_type "bert"`}},
		{"erf gelu", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"gelu_new"`, `"gelu"`))
		}, []string{`unsupported activation_function "gelu"`}},
		{"n_positions disagrees", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"n_positions": 24`, `"n_positions": 1024`))
		}, []string{"disagree", "wpe.weight has shape [24,32], config.json implies [1024,32]"}},
		{"n_inner disagrees", func(t *testing.T) string {
			return copyHFDir(t, "model", replaceOnce(t, `"n_inner": 48`, `"n_inner": 64`))
		}, []string{"h.0.mlp.c_fc.weight has shape [16,48], config.json implies [16,64]"}},
		{"n_embd disagrees", func(t *testing.T) string {
			return copyHFDir(t, "model", replaceOnce(t, `"n_embd": 16`, `"n_embd": 32`))
		}, []string{"wte.weight has shape [50,16], config.json implies [50,32]"}},
		{"too few layers", func(t *testing.T) string {
			return copyHFDir(t, "model", replaceOnce(t, `"n_layer": 3`, `"n_layer": 2`))
		}, []string{"unexpected tensors h.2."}},
		{"too many layers", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"n_layer": 2`, `"n_layer": 3`))
		}, []string{"missing tensors h.2."}},
		{"vocab disagrees", func(t *testing.T) string {
			return copyHFDir(t, "lmhead", replaceOnce(t, `"vocab_size": 305`, `"vocab_size": 50257`))
		}, []string{"wte.weight has shape [305,32], config.json implies [50257,32]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			_, err := models.Load(dir)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, dir) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, dir)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// LoadProcessed reads a tied checkpoint straight into the untied layout
// and gives, bit for bit, what Load and Process give; with no step it is
// Load.
func TestLoadProcessed(t *testing.T) {
	dir := filepath.Join("..", "testdata", "hf_gpt2", "lmhead")
	for _, steps := range []string{"", "fold_value_biases", "center_unembed", "all"} {
		t.Run(steps, func(t *testing.T) {
			o, err := models.ParseProcessOptions(steps)
			if err != nil {
				t.Fatal(err)
			}
			want, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := models.Process(want, o); err != nil {
				t.Fatal(err)
			}
			got, err := models.LoadProcessed(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != want.Config {
				t.Fatalf("config %+v, want %+v", got.Config, want.Config)
			}
			if !slices.Equal(got.Params.Names(), want.Params.Names()) || !slices.Equal(got.Params.Data, want.Params.Data) {
				t.Error("LoadProcessed differs from Load + Process")
			}
		})
	}
	noLN := filepath.Join("..", "testdata", "golden", "no_ln")
	if _, err := models.LoadProcessed(noLN, models.ProcessOptions{FoldLN: true}); err == nil || !strings.Contains(err.Error(), "no LayerNorm") || !strings.Contains(err.Error(), noLN) {
		t.Errorf("fold_ln on a model without LayerNorm: error %v", err)
	}
}

func TestWrittenByMechinterp(t *testing.T) {
	for dir, want := range map[string]bool{
		filepath.Join("..", "testdata", "hf_gpt2", "lmhead"): false,
		filepath.Join("..", "testdata", "hf_gpt2", "model"):  false,
		filepath.Join("..", "testdata", "golden", "gpt2"):    true,
		filepath.Join(t.TempDir(), "nope"):                   false,
	} {
		if got := models.WrittenByMechinterp(dir); got != want {
			t.Errorf("WrittenByMechinterp(%s) = %v, want %v", dir, got, want)
		}
	}
}

// Every GPT-2 size reads the same way: the configs as the Hub serves them
// (gpt2's verbatim; the larger ones differ in the sizes and carry extra
// keys such as output_past) give the parameter counts Hugging Face
// reports (124M, 355M, 774M, 1.5B) plus the all-zero lm_head.bias that
// mechinterp keeps.
func TestHFGPT2FamilyConfigs(t *testing.T) {
	const hub = `{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_layer": 12,
  "n_positions": 1024,
  "resid_pdrop": 0.1,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "vocab_size": 50257
}`
	tests := []struct {
		name                string
		embd, head, layer   int
		hfParams, wantDHead int
	}{
		{"gpt2", 768, 12, 12, 124_439_808, 64},
		{"gpt2-medium", 1024, 16, 24, 354_823_168, 64},
		{"gpt2-large", 1280, 20, 36, 774_030_080, 64},
		{"gpt2-xl", 1600, 25, 48, 1_557_611_200, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := strings.NewReplacer(
				`"n_embd": 768`, fmt.Sprintf(`"n_embd": %d`, tt.embd),
				`"n_head": 12`, fmt.Sprintf(`"n_head": %d`, tt.head),
				`"n_layer": 12`, fmt.Sprintf(`"n_layer": %d`, tt.layer),
				`"resid_pdrop": 0.1,`, `"resid_pdrop": 0.1, "output_past": true, "n_special": 0, "predict_special_tokens": true,`,
			).Replace(hub)
			cfg, err := models.UnmarshalHFConfig([]byte(js))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, q := range models.ParamLayout(cfg) {
				n += tensor.Numel(q.Shape)
			}
			if got := n - cfg.DVocab; got != tt.hfParams || cfg.DHead != tt.wantDHead || cfg.DMLP != 4*tt.embd || cfg.NCtx != 1024 || cfg.Untied {
				t.Errorf("%d parameters besides lm_head.bias (want %d), d_head %d, d_mlp %d, n_ctx %d, untied %v",
					got, tt.hfParams, cfg.DHead, cfg.DMLP, cfg.NCtx, cfg.Untied)
			}
		})
	}
}
