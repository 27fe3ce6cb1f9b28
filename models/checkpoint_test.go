package models

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

func randomParams(cfg Config, seed uint64) *Params {
	p := NewParams(cfg)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range p.Data {
		p.Data[i] = float32(r.NormFloat64())
	}
	return p
}

func ckptConfigs() map[string]Config {
	return map[string]Config{
		"gpt2":        {NLayers: 2, NHeads: 2, DModel: 8, NCtx: 6, DVocab: 11, Seed: 3},
		"attn-only":   {NLayers: 2, NHeads: 4, DModel: 8, NCtx: 5, DVocab: 7, AttnOnly: true, Seed: 1 << 63, InitializerRange: 0.1},
		"no-ln":       {NLayers: 1, NHeads: 2, DModel: 4, NCtx: 3, DVocab: 5, Normalization: NormNone},
		"shortformer": {NLayers: 1, NHeads: 1, DModel: 4, NCtx: 3, DVocab: 5, Positional: PosShortformer, AttnOnly: true},
		"untied":      {NLayers: 1, NHeads: 2, DModel: 4, NCtx: 3, DVocab: 5, Untied: true, LNEps: 1e-6},
		"odd-dims":    {NLayers: 3, NHeads: 3, DModel: 6, DHead: 5, DMLP: 7, NCtx: 2, DVocab: 3},
	}
}

func sameParams(t *testing.T, want, got *Params) {
	t.Helper()
	if !slices.Equal(want.Names(), got.Names()) {
		t.Fatalf("names %v, want %v", got.Names(), want.Names())
	}
	for i := range want.Data {
		if math.Float32bits(want.Data[i]) != math.Float32bits(got.Data[i]) {
			t.Fatalf("value %d: %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for name, cfg := range ckptConfigs() {
		for _, zeroBias := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/zero-bias=%v", name, zeroBias), func(t *testing.T) {
				cfg := cfg.WithDefaults()
				p := randomParams(cfg, 7)
				if zeroBias {
					clear(p.Get("lm_head.bias").Data)
				}
				dir := filepath.Join(t.TempDir(), "ckpt")
				if err := SaveParams(dir, cfg, p); err != nil {
					t.Fatal(err)
				}
				gotCfg, got, err := LoadParams(dir)
				if err != nil {
					t.Fatal(err)
				}
				if gotCfg != cfg {
					t.Fatalf("config %+v, want %+v", gotCfg, cfg)
				}
				sameParams(t, p, got)
				info, err := safetensors.ReadHeader(filepath.Join(dir, WeightsFile))
				if err != nil {
					t.Fatal(err)
				}
				_, hasBias := info.Entry("lm_head.bias")
				if hasBias == zeroBias {
					t.Errorf("lm_head.bias stored = %v with zero bias = %v", hasBias, zeroBias)
				}
				if info.Metadata["format"] != "pt" {
					t.Errorf("metadata %v", info.Metadata)
				}
			})
		}
	}
}

// hfGPT2Config is config.json as Hugging Face writes it for a small GPT-2.
const hfGPT2Config = `{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 6,
  "n_embd": 8,
  "n_head": 2,
  "n_inner": null,
  "n_layer": 2,
  "n_positions": 6,
  "reorder_and_upcast_attn": false,
  "resid_pdrop": 0.1,
  "scale_attn_by_inverse_layer_idx": false,
  "scale_attn_weights": true,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "torch_dtype": "float32",
  "transformers_version": "4.40.0",
  "use_cache": true,
  "vocab_size": 11
}`

var hfCfg = Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 6, DVocab: 11}

// writeHFDir writes a checkpoint the way Hugging Face lays one out: names
// with prefix, the attention buffers, lm_head.weight tied to wte, no
// lm_head.bias. edit may change the tensors before writing.
func writeHFDir(t *testing.T, dir, config, prefix string, p *Params, edit func(map[string]*tensor.Tensor)) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := map[string]*tensor.Tensor{}
	for _, name := range p.Names() {
		if name == "lm_head.bias" {
			continue
		}
		ts[prefix+name] = p.Get(name)
	}
	T := hfCfg.NCtx
	for l := 0; l < hfCfg.NLayers; l++ {
		mask := tensor.New(1, 1, T, T)
		for i := 0; i < T; i++ {
			for j := 0; j <= i; j++ {
				mask.Set(1, 0, 0, i, j)
			}
		}
		ts[fmt.Sprintf("%sh.%d.attn.bias", prefix, l)] = mask
		ts[fmt.Sprintf("%sh.%d.attn.masked_bias", prefix, l)] = tensor.View([]float32{-1e4})
	}
	if prefix != "" {
		ts["lm_head.weight"] = p.Get("wte.weight").Clone()
	}
	if edit != nil {
		edit(ts)
	}
	if err := safetensors.Write(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointLoadHFLayout(t *testing.T) {
	p := randomParams(hfCfg, 9)
	clear(p.Get("lm_head.bias").Data)
	for _, prefix := range []string{"transformer.", ""} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "gpt2")
			writeHFDir(t, dir, hfGPT2Config, prefix, p, nil)
			cfg, got, err := LoadParams(dir)
			if err != nil {
				t.Fatal(err)
			}
			if cfg != hfCfg.WithDefaults() {
				t.Fatalf("config %+v, want %+v", cfg, hfCfg.WithDefaults())
			}
			sameParams(t, p, got)
		})
	}
}

func TestCheckpointBadInput(t *testing.T) {
	good := randomParams(hfCfg, 5)
	clear(good.Get("lm_head.bias").Data)
	cfgWith := func(repl ...string) string { return strings.NewReplacer(repl...).Replace(hfGPT2Config) }
	hf := func(config, prefix string, edit func(map[string]*tensor.Tensor)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) { writeHFDir(t, dir, config, prefix, good, edit) }
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"missing dir", func(t *testing.T, dir string) {}, []string{"does not exist"}},
		{"not a dir", func(t *testing.T, dir string) { os.WriteFile(dir, []byte("x"), 0o644) }, []string{"not a directory"}},
		{"empty dir", func(t *testing.T, dir string) { os.Mkdir(dir, 0o755) }, []string{"empty directory"}},
		{"missing config", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, ConfigFile))
		}, []string{"missing config.json"}},
		{"malformed json", hf(`{"model_type": "gpt2",`, "", nil), []string{"config.json", "malformed JSON"}},
		// Before config.json was stat'ed and capped, these grew without end or hung.
		{"config.json is /dev/zero", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, ConfigFile))
			os.Symlink("/dev/zero", filepath.Join(dir, ConfigFile))
		}, []string{"config.json is not a regular file"}},
		{"config.json is a FIFO", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, ConfigFile))
			syscall.Mkfifo(filepath.Join(dir, ConfigFile), 0o644)
		}, []string{"config.json is not a regular file"}},
		{"model.safetensors is a FIFO", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, WeightsFile))
			syscall.Mkfifo(filepath.Join(dir, WeightsFile), 0o644)
		}, []string{"model.safetensors: not a regular file"}},
		{"config.json too big", hf(hfGPT2Config+strings.Repeat(" ", 1<<20), "", nil), []string{"more than a configuration file's limit"}},
		{"json array", hf(`[1]`, "", nil), []string{"config.json", "malformed JSON"}},
		{"json null", hf(`null`, "", nil), []string{"config.json", "malformed JSON"}},
		{"wrong type", hf(cfgWith(`"n_embd": 8`, `"n_embd": "8"`), "", nil), []string{"config.json", "n_embd"}},
		{"model type", hf(cfgWith(`"gpt2"`, `"t5"`), "", nil), []string{`unsupported model_type "t5"`}},
		{"no model type", hf(cfgWith(`"model_type": "gpt2",`, ``), "", nil), []string{"no model_type"}},
		{"architecture", hf(cfgWith(`"GPT2LMHeadModel"`, `"GPT2ForSequenceClassification"`), "", nil), []string{"unsupported architectures"}},
		{"activation", hf(cfgWith(`"gelu_new"`, `"relu"`), "", nil), []string{`unsupported activation_function "relu"`}},
		{"scale by layer", hf(cfgWith(`"scale_attn_by_inverse_layer_idx": false`, `"scale_attn_by_inverse_layer_idx": true`), "", nil), []string{"scale_attn_by_inverse_layer_idx"}},
		{"missing key", hf(cfgWith(`"n_head": 2,`, ``), "", nil), []string{"missing key n_head"}},
		{"invalid value", hf(cfgWith(`"n_layer": 2`, `"n_layer": 0`), "", nil), []string{"n_layers must be positive"}},
		{"indivisible heads", hf(cfgWith(`"n_head": 2`, `"n_head": 3`), "", nil), []string{"not divisible"}},
		{"bad extension value", hf(cfgWith(`"n_inner": null,`, `"n_inner": null, "mechinterp_normalization": "RMS",`), "", nil), []string{"normalization"}},
		{"unknown extension", hf(cfgWith(`"n_inner": null,`, `"n_inner": null, "mechinterp_rotary": true,`), "", nil), []string{"mechinterp_rotary"}},
		{"newer format", hf(cfgWith(`"n_inner": null,`, `"n_inner": null, "mechinterp_format_version": 99,`), "", nil), []string{"mechinterp_format_version 99"}},
		{"bad epsilon", hf(cfgWith(`1e-05`, `-1`), "", nil), []string{"layer_norm_epsilon"}},
		{"missing weights", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, WeightsFile))
		}, []string{"missing model.safetensors"}},
		{"sharded", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.Remove(filepath.Join(dir, WeightsFile))
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte("{}"), 0o644)
		}, []string{"sharded"}},
		{"garbage weights", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			os.WriteFile(filepath.Join(dir, WeightsFile), []byte("this is not a safetensors file at all"), 0o644)
		}, []string{"model.safetensors", "header length"}},
		{"truncated weights", func(t *testing.T, dir string) {
			hf(hfGPT2Config, "", nil)(t, dir)
			path := filepath.Join(dir, WeightsFile)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-10], 0o644)
		}, []string{"model.safetensors", "run past the data buffer"}},
		{"shape mismatch", hf(cfgWith(`"vocab_size": 11`, `"vocab_size": 12`), "", nil), []string{"disagree", "tensor wte.weight has shape [11,8], config.json implies [12,8]"}},
		{"transposed", hf(hfGPT2Config, "", func(ts map[string]*tensor.Tensor) {
			w := ts["h.1.mlp.c_fc.weight"]
			w.Shape = []int{w.Shape[1], w.Shape[0]}
		}), []string{"tensor h.1.mlp.c_fc.weight has shape [32,8], config.json implies [8,32]", "transposed"}},
		{"missing tensor", hf(hfGPT2Config, "transformer.", func(ts map[string]*tensor.Tensor) {
			delete(ts, "transformer.h.0.attn.c_proj.bias")
		}), []string{"missing tensors h.0.attn.c_proj.bias"}},
		{"extra tensor", hf(hfGPT2Config, "", func(ts map[string]*tensor.Tensor) {
			ts["score.weight"] = tensor.New(2, 8)
		}), []string{"unexpected tensors score.weight"}},
		{"extra layer", hf(cfgWith(`"n_layer": 2`, `"n_layer": 1`), "", nil), []string{"unexpected tensors h.1."}},
		{"absurd n_layer", hf(cfgWith(`"n_layer": 2`, `"n_layer": 1000000000`), "", nil), []string{"n_layers 1000000000 exceeds the limit"}},
		{"n_layer beyond the file", hf(cfgWith(`"n_layer": 2`, `"n_layer": 4000`), "", nil), []string{"holds only"}},
		{"tied head differs", hf(hfGPT2Config, "transformer.", func(ts map[string]*tensor.Tensor) {
			ts["lm_head.weight"].Data[17] += 1
		}), []string{"lm_head.weight differs from wte.weight at element 17"}},
		{"tied head shape", hf(hfGPT2Config, "transformer.", func(ts map[string]*tensor.Tensor) {
			ts["lm_head.weight"] = tensor.New(3, 8)
		}), []string{"tensor lm_head.weight has shape [3,8]"}},
		{"untied without head", hf(cfgWith(`"use_cache": true`, `"use_cache": true, "tie_word_embeddings": false`), "", nil),
			[]string{"missing tensors lm_head.weight", "tie_word_embeddings is false"}},
		{"stored twice", hf(hfGPT2Config, "", func(ts map[string]*tensor.Tensor) {
			ts["transformer.ln_f.bias"] = ts["ln_f.bias"].Clone()
		}), []string{"stored twice"}},
		{"buffer beyond layers", hf(hfGPT2Config, "", func(ts map[string]*tensor.Tensor) {
			ts["h.7.attn.bias"] = tensor.New(1)
		}), []string{"unexpected tensors h.7.attn.bias"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			c.setup(t, dir)
			_, p, err := LoadParams(dir)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if p != nil {
				t.Error("params returned with an error")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, dir) {
				t.Errorf("error %q does not name the directory", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q, want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestCheckpointNotExistWraps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	if _, _, err := LoadParams(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v does not wrap fs.ErrNotExist", err)
	}
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, WeightsFile), nil, 0o644)
	if _, err := ReadConfig(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestCheckpointAtomicSave(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "step-100")
	cfg := ckptConfigs()["attn-only"].WithDefaults()
	first := randomParams(cfg, 1)
	if err := SaveParams(dir, cfg, first, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "training_state.json"), []byte(`{"step":100}`), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{ConfigFile, WeightsFile, "training_state.json"}) {
		t.Fatalf("checkpoint holds %v", got)
	}

	// A failing write leaves the previous checkpoint intact and no temporary directory.
	second := randomParams(cfg, 2)
	boom := errors.New("disk full")
	err := SaveParams(dir, cfg, second, func(tmp string) error {
		if _, err := os.Stat(filepath.Join(tmp, WeightsFile)); err != nil {
			t.Errorf("weights not in the temporary directory when extras run: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	_, got, err := LoadParams(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, first, got)
	if names := listDir(t, root); !slices.Equal(names, []string{"step-100"}) {
		t.Fatalf("left behind: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "training_state.json")); err != nil {
		t.Fatal("extra file of the previous checkpoint lost")
	}

	// Bad arguments fail before touching anything.
	other := randomParams(ckptConfigs()["gpt2"], 3)
	if err := SaveParams(dir, cfg, other); err == nil {
		t.Fatal("saving params of another layout succeeded")
	}
	if err := SaveParams(dir, Config{}, first); err == nil {
		t.Fatal("saving with an invalid config succeeded")
	}
	if err := SaveParams(dir, cfg, nil); err == nil {
		t.Fatal("saving nil params succeeded")
	}

	// A successful save replaces the old checkpoint completely.
	if err := SaveParams(dir, cfg, second); err != nil {
		t.Fatal(err)
	}
	_, got, err = LoadParams(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, second, got)
	if names := listDir(t, dir); slices.Contains(names, "training_state.json") {
		t.Fatalf("stale file survived the replacement: %v", names)
	}
	if names := listDir(t, root); !slices.Equal(names, []string{"step-100"}) {
		t.Fatalf("left behind: %v", names)
	}

	// A file in the way is an error, and is left alone.
	file := filepath.Join(root, "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	if err := SaveParams(file, cfg, first); err == nil {
		t.Fatal("saving over a file succeeded")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatal("file was changed")
	}
	// Parents are created.
	if err := SaveParams(filepath.Join(root, "a", "b", "c"), cfg, first); err != nil {
		t.Fatal(err)
	}
}

func ExampleSaveParams() {
	root, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "step-000100")

	cfg := Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 16, DVocab: 50, AttnOnly: true}.WithDefaults()
	p := NewParams(cfg)
	p.Get("wte.weight").Set(0.5, 3, 7)
	if err := SaveParams(dir, cfg, p); err != nil {
		fmt.Println(err)
		return
	}

	loaded, q, err := LoadParams(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(loaded.NLayers, loaded.AttnOnly, q.Get("wte.weight").At(3, 7))
	// Output: 2 true 0.5
}
