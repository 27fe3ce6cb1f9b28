package models_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// archCases are the golden directories of testdata/hf_arch (gen.py), with
// the class each must load as.
var archCases = []struct {
	dir, arch string
}{
	{"neox_parallel", models.ArchGPTNeoX},
	{"neox_sequential_f16", models.ArchGPTNeoX},
	{"llama_gqa_sharded", models.ArchLlama},
	{"qwen2_tied_bf16", models.ArchQwen2},
	{"llama_biases_headdim", models.ArchLlama},
	{"llama3_scaled", models.ArchLlama},
	{"neox_linear_scaled", models.ArchGPTNeoX},
}

// TestHFArchGolden loads each Hugging Face directory and compares the logits
// and every hook point with the independent PyTorch forward pass of
// testdata/hf_arch/gen.py (written from transformers' modelling code).
func TestHFArchGolden(t *testing.T) {
	for _, tc := range archCases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "hf_arch", tc.dir)
			m, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.HFArchitecture != tc.arch {
				t.Errorf("loaded as %q, want %q", m.Config.HFArchitecture, tc.arch)
			}
			checkArchGolden(t, m, dir)
		})
	}
}

func checkArchGolden(t *testing.T, m *models.Model, dir string) {
	t.Helper()
	want, _, err := safetensors.Read(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tok := want["tokens"]
	B, T := tok.Shape[0], tok.Shape[1]
	tokens := toInts(tok.Data)
	got := map[string]*tensor.Tensor{}
	p, err := m.Forward(tokens, B, T, nil, &models.Options{Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
		got[name] = a.Clone()
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	worst := archDiff(t, "logits", p.Logits, want["logits"])
	names := models.HookNames(m.Config, false)
	for _, name := range names {
		w, ok := want["act."+name]
		if !ok {
			t.Errorf("the reference has no %s", name)
			continue
		}
		g := got[name]
		if strings.HasSuffix(name, "hook_attn_scores") {
			g = g.Clone() // the reference stores masked entries as 0
			for i, v := range g.Data {
				if math.IsInf(float64(v), -1) {
					g.Data[i] = 0
				}
			}
		}
		worst = max(worst, archDiff(t, name, g, w))
	}
	for k := range want {
		if n, ok := strings.CutPrefix(k, "act."); ok && !slices.Contains(names, n) {
			t.Errorf("the model fires no %s, which the reference has", n)
		}
	}
	t.Logf("%d hook points and the logits; largest difference %.2g", len(names), worst)
}

// archDiff reports the largest difference, relative to the larger of 1 and
// the value, failing above 1e-4.
func archDiff(t *testing.T, what string, got, want *tensor.Tensor) float64 {
	t.Helper()
	if !got.SameShape(want.Shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, want.Shape)
		return 0
	}
	var worst float64
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data[i]-w)) / max(1, math.Abs(float64(w)))
		if !(d <= 1e-4) {
			t.Errorf("%s[%d] = %g, want %g", what, i, got.Data[i], w)
			return d
		}
		worst = max(worst, d)
	}
	return worst
}

// TestHFArchSaveRoundTrip saves each loaded model and checks the directory
// holds what Hugging Face's class loads: the original's tensor names and
// shapes with the same values (as float32), and a config.json with the
// original's architecture keys and values. Loading it again gives the same
// model.
func TestHFArchSaveRoundTrip(t *testing.T) {
	for _, tc := range archCases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "hf_arch", tc.dir)
			m, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "ckpt")
			if err := m.Save(out); err != nil {
				t.Fatal(err)
			}
			saved, _, err := safetensors.Read(filepath.Join(out, models.WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			orig := readAllShards(t, dir)
			for name, o := range orig {
				s, ok := saved[name]
				if !ok {
					t.Errorf("saved checkpoint lacks %s", name)
					continue
				}
				if !s.SameShape(o.Shape) || !slices.Equal(s.Data, o.Data) {
					t.Errorf("%s differs after the round trip", name)
				}
				delete(saved, name)
			}
			if len(saved) > 0 {
				t.Errorf("saved checkpoint has extra tensors %v", keysOf(saved))
			}
			var a, b map[string]any
			readJSON(t, filepath.Join(dir, models.ConfigFile), &a)
			readJSON(t, filepath.Join(out, models.ConfigFile), &b)
			for k, v := range a {
				if k == "torch_dtype" {
					continue // we write float32
				}
				if om, isMap := v.(map[string]any); isMap { // rope_scaling: every original key kept
					sm, _ := b[k].(map[string]any)
					for kk, vv := range om {
						if !jsonEqual(sm[kk], vv) {
							t.Errorf("config.json key %s.%s: saved %v, original %v", k, kk, sm[kk], vv)
						}
					}
					continue
				}
				if bv, ok := b[k]; !ok || !jsonEqual(bv, v) {
					t.Errorf("config.json key %s: saved %v, original %v", k, b[k], v)
				}
			}
			m2, err := models.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Params.Data, m2.Params.Data) || m2.Config != m.Config {
				t.Errorf("reloading changed the model: config %+v, want %+v", m2.Config, m.Config)
			}
		})
	}
}

func readAllShards(t *testing.T, dir string) map[string]*tensor.Tensor {
	t.Helper()
	all := map[string]*tensor.Tensor{}
	files, _ := filepath.Glob(filepath.Join(dir, "model*.safetensors"))
	for _, path := range files {
		f, err := safetensors.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range f.Entries {
			if isBuffer(e.Name) {
				continue
			}
			if all[e.Name], err = f.Tensor(e.Name); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	return all
}

func isBuffer(name string) bool {
	return strings.Contains(name, "inv_freq") || strings.HasSuffix(name, "attention.bias") || strings.HasSuffix(name, "masked_bias")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func keysOf(m map[string]*tensor.Tensor) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestHFArchBadDirectories checks that broken Hugging Face directories end
// in one clear error naming the problem.
func TestHFArchBadDirectories(t *testing.T) {
	copyCase := func(t *testing.T, name string) string {
		t.Helper()
		src := filepath.Join("..", "testdata", "hf_arch", name)
		dst := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	edit := func(t *testing.T, path, old, new string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s has no %q", path, old)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  []string
	}{
		{"missing shard", func(t *testing.T) string {
			d := copyCase(t, "llama_gqa_sharded")
			os.Remove(filepath.Join(d, "model-00002-of-00002.safetensors"))
			return d
		}, []string{"missing shard model-00002-of-00002.safetensors", models.IndexFile}},
		{"index names a tensor its shard lacks", func(t *testing.T) string {
			d := copyCase(t, "llama_gqa_sharded")
			edit(t, filepath.Join(d, models.IndexFile), `"model.norm.weight": "model-00002-of-00002.safetensors"`,
				`"model.norm.weight": "model-00002-of-00002.safetensors", "model.extra.weight": "model-00001-of-00002.safetensors"`)
			return d
		}, []string{"names tensor model.extra.weight in shard model-00001-of-00002.safetensors, which does not hold it"}},
		{"unknown architecture", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			edit(t, filepath.Join(d, models.ConfigFile), `"gpt_neox"`, `"falcon"`)
			return d
		}, []string{`unsupported model_type "falcon"`}},
		{"class and model_type disagree", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			edit(t, filepath.Join(d, models.ConfigFile), `"GPTNeoXForCausalLM"`, `"LlamaForCausalLM"`)
			return d
		}, []string{"unsupported architectures [LlamaForCausalLM]"}},
		{"config and weights disagree", func(t *testing.T) string {
			d := copyCase(t, "llama_gqa_sharded")
			edit(t, filepath.Join(d, models.ConfigFile), `"num_key_value_heads": 2`, `"num_key_value_heads": 4`)
			return d
		}, []string{"config.json and the weights disagree", "self_attn.k_proj.weight has shape [16,32], config.json implies [32,32]"}},
		{"too few layers stored", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			edit(t, filepath.Join(d, models.ConfigFile), `"num_hidden_layers": 2`, `"num_hidden_layers": 3`)
			return d
		}, []string{"missing tensors gpt_neox.layers.2."}},
		{"untied without a head", func(t *testing.T) string {
			d := copyCase(t, "qwen2_tied_bf16")
			edit(t, filepath.Join(d, models.ConfigFile), `"tie_word_embeddings": true`, `"tie_word_embeddings": false`)
			return d
		}, []string{"missing tensors lm_head.weight", "tie_word_embeddings is false"}},
		{"rope scaling", func(t *testing.T) string {
			d := copyCase(t, "llama_gqa_sharded")
			edit(t, filepath.Join(d, models.ConfigFile), `"rope_scaling": null`, `"rope_scaling": {"rope_type": "yarn", "factor": 4}`)
			return d
		}, []string{`unsupported rope_scaling type "yarn"`}},
		{"llama3 scaling without its keys", func(t *testing.T) string {
			d := copyCase(t, "llama_gqa_sharded")
			edit(t, filepath.Join(d, models.ConfigFile), `"rope_scaling": null`, `"rope_scaling": {"rope_type": "llama3", "factor": 8}`)
			return d
		}, []string{"rotary_scaling llama3 needs"}},
		{"odd rotary dimension", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			edit(t, filepath.Join(d, models.ConfigFile), `"rotary_pct": 0.25`, `"rotary_pct": 0.375`)
			return d
		}, []string{"rotary_dim must be even"}},
		{"rotary fraction below one dimension", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			edit(t, filepath.Join(d, models.ConfigFile), `"rotary_pct": 0.25`, `"rotary_pct": 0.1`)
			return d
		}, []string{"rotary_pct 0.1 rotates no dimension of heads of 8"}},
		{"no weights", func(t *testing.T) string {
			d := copyCase(t, "neox_parallel")
			os.Remove(filepath.Join(d, models.WeightsFile))
			return d
		}, []string{"missing model.safetensors (and no model.safetensors.index.json)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := models.Load(tt.setup(t))
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestHFArchNewerFormat refuses a config.json written by a newer mechinterp.
func TestHFArchNewerFormat(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "hf_arch", "neox_parallel", models.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "{", `{"mechinterp_format_version": 99,`, 1)
	if _, err := models.UnmarshalHFConfig([]byte(s)); err == nil || !strings.Contains(err.Error(), "mechinterp_format_version 99 is newer") {
		t.Errorf("error %v", err)
	}
}
