package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// Hugging Face directories of the architectures beyond GPT-2: GPT-NeoX
// (Pythia) and the Llama family (Llama, Qwen2, Mistral). Their config.json
// keys and tensor names are Hugging Face's (modeling_gpt_neox.py,
// modeling_llama.py, modeling_qwen2.py, modeling_mistral.py), mapped onto
// the one decoder's parameters (see ParamLayout) element by element, so
// loading streams each tensor straight into place and writing produces
// files transformers' classes load.

// Hugging Face class names.
const (
	ArchGPT2    = "GPT2LMHeadModel"
	ArchGPTNeoX = "GPTNeoXForCausalLM"
	ArchLlama   = "LlamaForCausalLM"
	ArchQwen2   = "Qwen2ForCausalLM"
	ArchMistral = "MistralForCausalLM"
)

// IndexFile names the tensors of a sharded checkpoint and their shard files.
const IndexFile = "model.safetensors.index.json"

// archModelTypes maps each non-GPT-2 model_type to its class.
var archModelTypes = map[string]string{
	"gpt_neox": ArchGPTNeoX, "llama": ArchLlama, "qwen2": ArchQwen2, "mistral": ArchMistral,
}

// archConfig is config.json of GPT-NeoX and the Llama family as read:
// pointers tell absent keys from zeros.
type archConfig struct {
	ModelType         *string         `json:"model_type"`
	Architectures     []string        `json:"architectures"`
	VocabSize         *int            `json:"vocab_size"`
	HiddenSize        *int            `json:"hidden_size"`
	IntermediateSize  *int            `json:"intermediate_size"`
	NumLayers         *int            `json:"num_hidden_layers"`
	NumHeads          *int            `json:"num_attention_heads"`
	NumKVHeads        *int            `json:"num_key_value_heads"`
	HeadDim           *int            `json:"head_dim"`
	MaxPositions      *int            `json:"max_position_embeddings"`
	HiddenAct         *string         `json:"hidden_act"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	InitializerRange  *float64        `json:"initializer_range"`
	RopeTheta         *float64        `json:"rope_theta"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	AttentionBias     *bool           `json:"attention_bias"`
	MLPBias           *bool           `json:"mlp_bias"`
	RMSNormEps        *float64        `json:"rms_norm_eps"`
	SlidingWindow     *int            `json:"sliding_window"`
	UseSlidingWindow  *bool           `json:"use_sliding_window"`
	RotaryPct         *float64        `json:"rotary_pct"`
	RotaryEmbBase     *float64        `json:"rotary_emb_base"`
	LayerNormEps      *float64        `json:"layer_norm_eps"`
	UseParallel       *bool           `json:"use_parallel_residual"`
	PartialRotary     *float64        `json:"partial_rotary_factor"`
	Seed              *uint64         `json:"mechinterp_seed"`
	FormatVersion     *int            `json:"mechinterp_format_version"`
}

// unmarshalArchConfig decodes the config.json of a GPT-NeoX or Llama-family
// model (arch is its class) into a validated Config.
func unmarshalArchConfig(data []byte, arch string) (Config, error) {
	var h archConfig
	if err := decodeConfig(data, &h, &h.FormatVersion); err != nil {
		return Config{}, err
	}
	if len(h.Architectures) > 0 && !slices.Contains(h.Architectures, arch) {
		return Config{}, fmt.Errorf("unsupported architectures %v for model_type %q: want %s", h.Architectures, *h.ModelType, arch)
	}

	var c Config
	c.HFArchitecture = arch
	need := func(name string, v *int, dst *int) error {
		if v == nil {
			return fmt.Errorf("missing key %s", name)
		}
		*dst = *v
		return nil
	}
	for _, k := range []struct {
		name string
		v    *int
		dst  *int
	}{
		{"vocab_size", h.VocabSize, &c.DVocab}, {"hidden_size", h.HiddenSize, &c.DModel},
		{"intermediate_size", h.IntermediateSize, &c.DMLP}, {"num_hidden_layers", h.NumLayers, &c.NLayers},
		{"num_attention_heads", h.NumHeads, &c.NHeads}, {"max_position_embeddings", h.MaxPositions, &c.NCtx},
	} {
		if err := need(k.name, k.v, k.dst); err != nil {
			return Config{}, err
		}
	}
	if c.NHeads > 0 && c.DModel%c.NHeads != 0 && h.HeadDim == nil {
		return Config{}, fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d (and no head_dim)", c.DModel, c.NHeads)
	}
	if h.HeadDim != nil {
		c.DHead = *h.HeadDim
	}
	positive := func(name string, v *float64, dst func(float64)) error {
		if v == nil {
			return nil
		}
		if !(*v > 0) || math.IsInf(*v, 0) || *v > math.MaxFloat32 {
			return fmt.Errorf("%s must be a positive number, got %v", name, *v)
		}
		dst(*v)
		return nil
	}
	if err := positive("initializer_range", h.InitializerRange, func(v float64) { c.InitializerRange = float32(v) }); err != nil {
		return Config{}, err
	}
	if h.Seed != nil {
		c.Seed = *h.Seed
	}
	c.Positional = PosRotary
	c.NoUnembedBias = true
	var err error
	if c.RotaryScaling, err = readRopeScaling(h.RopeScaling); err != nil {
		return Config{}, err
	}
	c.RotaryBase = 10000
	if err := positive("rope_theta", h.RopeTheta, func(v float64) { c.RotaryBase = v }); err != nil {
		return Config{}, err
	}
	act := ActSilu
	if h.HiddenAct != nil {
		switch *h.HiddenAct {
		case "gelu":
			act = ActGelu
		case "gelu_new", "gelu_pytorch_tanh":
			act = ActGeluNew
		case "silu", "swish":
			act = ActSilu
		default:
			return Config{}, fmt.Errorf(`unsupported hidden_act %q: want "gelu", "gelu_new", "gelu_pytorch_tanh" or "silu"`, *h.HiddenAct)
		}
	}
	c.ActFn = act
	if arch == ArchGPTNeoX {
		// GPTNeoXConfig's defaults: rotary_pct 0.25, rotary_emb_base 10000,
		// layer_norm_eps 1e-5, use_parallel_residual true, untied, gelu.
		if h.HiddenAct == nil {
			c.ActFn = ActGelu
		}
		c.Normalization = NormLN
		c.ParallelAttnMLP = h.UseParallel == nil || *h.UseParallel
		c.Untied = h.TieWordEmbeddings == nil || !*h.TieWordEmbeddings
		if h.AttentionBias != nil && !*h.AttentionBias {
			c.NoQKVBias, c.NoAttnOutBias = true, true
		}
		c.LNEps = 1e-5
		if err := positive("layer_norm_eps", h.LayerNormEps, func(v float64) { c.LNEps = float32(v) }); err != nil {
			return Config{}, err
		}
		if err := positive("rotary_emb_base", h.RotaryEmbBase, func(v float64) { c.RotaryBase = v }); err != nil {
			return Config{}, err
		}
		pct := 0.25
		if h.RotaryPct != nil {
			pct = *h.RotaryPct
		}
		if !(pct > 0 && pct <= 1) {
			return Config{}, fmt.Errorf("rotary_pct must be in (0,1], got %v", pct)
		}
		if c.NHeads > 0 {
			// modeling_gpt_neox.py: rotary_ndims = int(head_size * rotary_pct).
			c.RotaryDim = int(float64(c.DModel/c.NHeads) * pct)
			if c.RotaryDim == 0 {
				return Config{}, fmt.Errorf("rotary_pct %v rotates no dimension of heads of %d", pct, c.DModel/c.NHeads)
			}
		}
	} else {
		// LlamaConfig's defaults: rms_norm_eps 1e-6, rope_theta 10000,
		// untied, silu, no biases; Qwen2 always has q/k/v biases and no
		// output bias.
		c.Normalization = NormRMS
		c.GatedMLP = true
		c.Untied = h.TieWordEmbeddings == nil || !*h.TieWordEmbeddings
		c.NoQKVBias, c.NoAttnOutBias, c.NoMLPBias = true, true, true
		if h.AttentionBias != nil && *h.AttentionBias {
			c.NoQKVBias, c.NoAttnOutBias = false, false
		}
		if h.MLPBias != nil && *h.MLPBias {
			c.NoMLPBias = false
		}
		if arch == ArchQwen2 {
			c.NoQKVBias, c.NoAttnOutBias = false, true
			if h.UseSlidingWindow != nil && *h.UseSlidingWindow {
				return Config{}, errors.New("unsupported use_sliding_window true: sliding-window attention is not implemented")
			}
		}
		if arch == ArchMistral && h.SlidingWindow != nil && *h.SlidingWindow > 0 && *h.SlidingWindow < c.NCtx {
			// Within the window, sliding-window attention is full causal
			// attention: cap the context there instead of implementing it.
			c.NCtx = *h.SlidingWindow
		}
		if h.PartialRotary != nil && *h.PartialRotary != 1 {
			return Config{}, fmt.Errorf("unsupported partial_rotary_factor %v", *h.PartialRotary)
		}
		c.LNEps = 1e-6
		if err := positive("rms_norm_eps", h.RMSNormEps, func(v float64) { c.LNEps = float32(v) }); err != nil {
			return Config{}, err
		}
	}
	if h.NumKVHeads != nil {
		c.NKVHeads = *h.NumKVHeads
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readRopeScaling reads rope_scaling: null, or a "linear" or "llama3"
// scaling ("rope_type", or "type" as older files name it; "default" is
// none). Other types (dynamic, yarn, longrope) are refused.
func readRopeScaling(raw json.RawMessage) (RotaryScaling, error) {
	if r := strings.TrimSpace(string(raw)); r == "" || r == "null" {
		return RotaryScaling{}, nil
	}
	var rs struct {
		RopeType       *string  `json:"rope_type"`
		Type           *string  `json:"type"`
		Factor         *float64 `json:"factor"`
		LowFreqFactor  *float64 `json:"low_freq_factor"`
		HighFreqFactor *float64 `json:"high_freq_factor"`
		Original       *int     `json:"original_max_position_embeddings"`
	}
	if err := json.Unmarshal(raw, &rs); err != nil {
		return RotaryScaling{}, fmt.Errorf("rope_scaling: %w", err)
	}
	var s RotaryScaling
	switch {
	case rs.RopeType != nil:
		s.Type = *rs.RopeType
	case rs.Type != nil:
		s.Type = *rs.Type
	}
	if s.Type == "default" || s.Type == "" {
		return RotaryScaling{}, nil
	}
	if s.Type != ScalingLinear && s.Type != ScalingLlama3 {
		return RotaryScaling{}, fmt.Errorf("unsupported rope_scaling type %q: only linear and llama3 are implemented", s.Type)
	}
	for _, f := range []struct {
		v   *float64
		dst *float64
	}{{rs.Factor, &s.Factor}, {rs.LowFreqFactor, &s.LowFreqFactor}, {rs.HighFreqFactor, &s.HighFreqFactor}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if rs.Original != nil {
		s.OriginalContext = *rs.Original
	}
	if s.Type == ScalingLinear {
		s.LowFreqFactor, s.HighFreqFactor, s.OriginalContext = 0, 0, 0
	}
	if err := s.validate(); err != nil {
		return RotaryScaling{}, err
	}
	return s, nil
}

// ropeScalingJSON is rope_scaling as written: null, or the scaling's keys,
// its type under both "rope_type" and the older "type", as transformers
// writes it.
func ropeScalingJSON(s RotaryScaling) any {
	switch s.Type {
	case ScalingLinear:
		return map[string]any{"rope_type": s.Type, "type": s.Type, "factor": s.Factor}
	case ScalingLlama3:
		return map[string]any{"rope_type": s.Type, "type": s.Type, "factor": s.Factor, "low_freq_factor": s.LowFreqFactor,
			"high_freq_factor": s.HighFreqFactor, "original_max_position_embeddings": s.OriginalContext}
	}
	return nil
}

// hfArchOf returns the Hugging Face class a checkpoint of c is written as:
// c.HFArchitecture when set, else the first class whose architecture c
// matches, or an error naming what no class expresses.
func hfArchOf(c Config) (string, error) {
	c = c.WithDefaults()
	if c.HFArchitecture != "" {
		if err := archExpresses(c.HFArchitecture, c); err != nil {
			return "", err
		}
		return c.HFArchitecture, nil
	}
	var errs []string
	for _, a := range []string{ArchGPT2, ArchGPTNeoX, ArchLlama, ArchQwen2} {
		err := archExpresses(a, c)
		if err == nil {
			return a, nil
		}
		errs = append(errs, err.Error())
	}
	return "", fmt.Errorf("no Hugging Face class expresses this architecture (%s)", strings.Join(errs, "; "))
}

// archExpresses reports what of c the class arch cannot express.
func archExpresses(arch string, c Config) error {
	var bad []string
	check := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	switch arch {
	case ArchGPT2:
		check(c.IsGPT2(), "GPT-2 has LayerNorm, learned positions, tanh GELU, every bias")
	case ArchGPTNeoX:
		check(c.Normalization == NormLN, "normalization LN")
		check(c.Positional == PosRotary, "rotary positions")
		check(!c.AttnOnly && !c.GatedMLP, "a plain MLP")
		check(c.NKVHeads == c.NHeads, "no grouped-query attention")
		check(c.DHead*c.NHeads == c.DModel, "d_head = d_model/n_heads")
		check(c.NoQKVBias == c.NoAttnOutBias && !c.NoMLPBias && c.NoUnembedBias, "attention biases all or none, MLP biases, no unembedding bias")
		if c.DHead > 0 {
			check(int(float64(c.DHead)*(float64(c.RotaryDim)/float64(c.DHead))) == c.RotaryDim, "rotary_dim expressible as rotary_pct")
		}
	case ArchLlama, ArchMistral, ArchQwen2:
		check(c.Normalization == NormRMS, "normalization RMS")
		check(c.Positional == PosRotary && c.RotaryDim == c.DHead, "rotary positions on whole heads")
		check(!c.AttnOnly && c.GatedMLP && !c.ParallelAttnMLP, "a sequential gated MLP")
		check(c.NoUnembedBias, "no unembedding bias")
		switch arch {
		case ArchQwen2:
			check(!c.NoQKVBias && c.NoAttnOutBias && c.NoMLPBias, "q/k/v biases only")
		case ArchMistral:
			check(c.NoQKVBias && c.NoAttnOutBias && c.NoMLPBias, "no biases")
		default:
			check(c.NoQKVBias == c.NoAttnOutBias, "attention biases all or none")
		}
	default:
		return fmt.Errorf("unknown Hugging Face architecture %q", arch)
	}
	bad = slices.DeleteFunc(bad, func(s string) bool { return s == "" })
	if len(bad) > 0 {
		return fmt.Errorf("%s needs %s", arch, strings.Join(bad, ", "))
	}
	return nil
}

// marshalArchConfig encodes c as the config.json of class arch, in
// transformers' keys, with mechinterp_format_version and mechinterp_seed.
func marshalArchConfig(c Config, arch string) ([]byte, error) {
	type kv struct {
		k string
		v any
	}
	num := func(f float64) json.Number { return json.Number(strconv.FormatFloat(f, 'g', -1, 32)) }
	keys := []kv{
		{"architectures", []string{arch}},
		{"vocab_size", c.DVocab}, {"hidden_size", c.DModel}, {"intermediate_size", c.DMLP},
		{"num_hidden_layers", c.NLayers}, {"num_attention_heads", c.NHeads},
		{"max_position_embeddings", c.NCtx}, {"hidden_act", c.ActFn},
		{"tie_word_embeddings", !c.Untied}, {"initializer_range", num(float64(c.InitializerRange))},
		{"rope_theta", json.Number(strconv.FormatFloat(c.RotaryBase, 'g', -1, 64))},
		{"torch_dtype", "float32"}, {"use_cache", true},
	}
	if arch == ArchGPTNeoX {
		keys = append(keys, kv{"model_type", "gpt_neox"},
			kv{"rotary_pct", float64(c.RotaryDim) / float64(c.DHead)},
			kv{"rotary_emb_base", json.Number(strconv.FormatFloat(c.RotaryBase, 'g', -1, 64))},
			kv{"layer_norm_eps", num(float64(c.LNEps))},
			kv{"use_parallel_residual", c.ParallelAttnMLP},
			kv{"attention_bias", !c.NoQKVBias}, kv{"rope_scaling", ropeScalingJSON(c.RotaryScaling)})
	} else {
		mt := map[string]string{ArchLlama: "llama", ArchQwen2: "qwen2", ArchMistral: "mistral"}[arch]
		keys = append(keys, kv{"model_type", mt},
			kv{"num_key_value_heads", c.NKVHeads}, kv{"head_dim", c.DHead},
			kv{"rms_norm_eps", num(float64(c.LNEps))}, kv{"rope_scaling", ropeScalingJSON(c.RotaryScaling)})
		switch arch {
		case ArchLlama:
			keys = append(keys, kv{"attention_bias", !c.NoQKVBias}, kv{"mlp_bias", !c.NoMLPBias})
		case ArchQwen2:
			keys = append(keys, kv{"use_sliding_window", false})
		case ArchMistral:
			keys = append(keys, kv{"sliding_window", nil})
		}
	}
	keys = append(keys, kv{"mechinterp_format_version", CheckpointFormatVersion}, kv{"mechinterp_seed", c.Seed})
	var b strings.Builder
	b.WriteString("{\n")
	for i, e := range keys {
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, fmt.Errorf("models: encoding config.json: %w", err)
		}
		fmt.Fprintf(&b, "  %q: %s", e.k, v)
		if i < len(keys)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

// hfTensor is one tensor of a Hugging Face checkpoint: its name and shape
// there, the parameter it lives in here, and where each of its elements
// (row-major in shape) lives in that parameter (nil: the same order).
type hfTensor struct {
	name  string
	shape []int
	param string
	index func(i int) int
}

// archTensors lists the tensors of class arch for c, in storage order.
func archTensors(c Config, arch string) []hfTensor {
	C, H, K, D, M, V := c.DModel, c.NHeads, c.NKVHeads, c.DHead, c.DMLP, c.DVocab
	HD, KD := H*D, K*D
	QKV := HD + 2*KD
	var ts []hfTensor
	add := func(name, param string, index func(int) int, shape ...int) {
		ts = append(ts, hfTensor{name, shape, param, index})
	}
	// transposed maps nn.Linear's [out,in] weight onto a stored [in,ldw]
	// block starting at column off.
	transposed := func(in, ldw, off int) func(int) int {
		return func(i int) int { return (i%in)*ldw + off + i/in }
	}
	shifted := func(off int) func(int) int { return func(i int) int { return off + i } }
	if arch == ArchGPTNeoX {
		add("gpt_neox.embed_in.weight", "wte.weight", nil, V, C)
		for l := 0; l < c.NLayers; l++ {
			p, h := fmt.Sprintf("gpt_neox.layers.%d.", l), fmt.Sprintf("h.%d.", l)
			add(p+"input_layernorm.weight", h+"ln_1.weight", nil, C)
			add(p+"input_layernorm.bias", h+"ln_1.bias", nil, C)
			add(p+"post_attention_layernorm.weight", h+"ln_2.weight", nil, C)
			add(p+"post_attention_layernorm.bias", h+"ln_2.bias", nil, C)
			// query_key_value is [3·H·D, C], rows head by head, each head's
			// q, k, v side by side: row h·3D + part·D + d.
			neoxRow := func(r int) int { h, part, d := r/(3*D), (r/D)%3, r%D; return part*HD + h*D + d }
			add(p+"attention.query_key_value.weight", h+"attn.c_attn.weight", func(i int) int {
				return (i%C)*QKV + neoxRow(i/C)
			}, 3*HD, C)
			if !c.NoQKVBias {
				add(p+"attention.query_key_value.bias", h+"attn.c_attn.bias", neoxRow, 3*HD)
			}
			add(p+"attention.dense.weight", h+"attn.c_proj.weight", transposed(HD, C, 0), C, HD)
			if !c.NoAttnOutBias {
				add(p+"attention.dense.bias", h+"attn.c_proj.bias", nil, C)
			}
			add(p+"mlp.dense_h_to_4h.weight", h+"mlp.c_fc.weight", transposed(C, M, 0), M, C)
			add(p+"mlp.dense_h_to_4h.bias", h+"mlp.c_fc.bias", nil, M)
			add(p+"mlp.dense_4h_to_h.weight", h+"mlp.c_proj.weight", transposed(M, C, 0), C, M)
			add(p+"mlp.dense_4h_to_h.bias", h+"mlp.c_proj.bias", nil, C)
		}
		add("gpt_neox.final_layer_norm.weight", "ln_f.weight", nil, C)
		add("gpt_neox.final_layer_norm.bias", "ln_f.bias", nil, C)
		if c.Untied {
			add("embed_out.weight", "lm_head.weight", nil, V, C)
		}
		return ts
	}
	add("model.embed_tokens.weight", "wte.weight", nil, V, C)
	for l := 0; l < c.NLayers; l++ {
		p, h := fmt.Sprintf("model.layers.%d.", l), fmt.Sprintf("h.%d.", l)
		add(p+"input_layernorm.weight", h+"ln_1.weight", nil, C)
		for i, proj := range []string{"q_proj", "k_proj", "v_proj"} {
			off, n := c.qkvSplit(i)
			add(p+"self_attn."+proj+".weight", h+"attn.c_attn.weight", transposed(C, QKV, off), n, C)
			if !c.NoQKVBias {
				add(p+"self_attn."+proj+".bias", h+"attn.c_attn.bias", shifted(off), n)
			}
		}
		add(p+"self_attn.o_proj.weight", h+"attn.c_proj.weight", transposed(HD, C, 0), C, HD)
		if !c.NoAttnOutBias {
			add(p+"self_attn.o_proj.bias", h+"attn.c_proj.bias", nil, C)
		}
		add(p+"post_attention_layernorm.weight", h+"ln_2.weight", nil, C)
		for _, m := range []struct{ hf, ours string }{{"gate_proj", "c_gate"}, {"up_proj", "c_fc"}} {
			add(p+"mlp."+m.hf+".weight", h+"mlp."+m.ours+".weight", transposed(C, M, 0), M, C)
			if !c.NoMLPBias {
				add(p+"mlp."+m.hf+".bias", h+"mlp."+m.ours+".bias", nil, M)
			}
		}
		add(p+"mlp.down_proj.weight", h+"mlp.c_proj.weight", transposed(M, C, 0), C, M)
		if !c.NoMLPBias {
			add(p+"mlp.down_proj.bias", h+"mlp.c_proj.bias", nil, C)
		}
	}
	add("model.norm.weight", "ln_f.weight", nil, C)
	if c.Untied {
		add("lm_head.weight", "lm_head.weight", nil, V, C)
	}
	return ts
}

// archBuffer matches the buffers GPT-NeoX and Llama files may carry: the
// causal mask and the rotary inverse frequencies, which are recomputed.
var archBuffer = regexp.MustCompile(`^(gpt_neox|model)\.layers\.\d+\.(attention|self_attn)\.(bias|masked_bias|rotary_emb\.inv_freq)$|^gpt_neox\.rotary_emb\.inv_freq$|^model\.rotary_emb\.inv_freq$`)

// shardSet is the safetensors files of one checkpoint and which holds each
// tensor.
type shardSet struct {
	files []*safetensors.File
	where map[string]int // tensor name -> files index
}

func (s *shardSet) Close() {
	for _, f := range s.files {
		f.Close()
	}
}

// openShards opens dir's model.safetensors, or every shard its
// model.safetensors.index.json names, checking that each shard exists and
// holds the tensors the index gives it.
//
// Each file may hold at most maxTensors entries, which the loader sets from
// the config, so that a hostile header costs nothing per entry.
func openShards(dir string, maxTensors int) (*shardSet, error) {
	s := &shardSet{where: map[string]int{}}
	single := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(single); err == nil {
		f, err := safetensors.OpenLimited(single, maxTensors)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		for _, e := range f.Entries {
			s.where[e.Name] = 0
		}
		return s, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			hint := ""
			if _, e := os.Stat(filepath.Join(dir, "pytorch_model.bin")); e == nil {
				hint = " (only pytorch_model.bin is present; convert it to safetensors)"
			}
			return nil, fmt.Errorf("missing %s (and no %s)%s: %w", WeightsFile, IndexFile, hint, err)
		}
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %w", IndexFile, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: no weight_map", IndexFile)
	}
	byFile := map[string][]string{}
	for name, file := range idx.WeightMap {
		if file == "" || filepath.Base(file) != file {
			return nil, fmt.Errorf("%s: tensor %s is in %q, not a file of the directory", IndexFile, name, file)
		}
		byFile[file] = append(byFile[file], name)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		f, err := safetensors.OpenLimited(filepath.Join(dir, file), maxTensors)
		if err != nil {
			s.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("missing shard %s, which %s names for %d tensors: %w", file, IndexFile, len(byFile[file]), err)
			}
			return nil, err
		}
		s.files = append(s.files, f)
		names := byFile[file]
		sort.Strings(names)
		for _, name := range names {
			if _, ok := f.Entry(name); !ok {
				s.Close()
				return nil, fmt.Errorf("%s names tensor %s in shard %s, which does not hold it", IndexFile, name, file)
			}
			s.where[name] = len(s.files) - 1
		}
	}
	return s, nil
}

// loadArchParams reads the weights of class arch for cfg from dir (one file
// or shards) straight into a new Params buffer: each tensor streams in
// chunks to its place, so the peak is the float32 weights plus a buffer of
// a megabyte. With untie the parameters are laid out untied, lm_head a copy
// of wte.
func loadArchParams(dir string, cfg Config, arch string, untie bool) (*Params, error) {
	want := archTensors(cfg, arch)
	// A file of the right model holds every tensor, three buffers per layer
	// and perhaps a tied head; 64 more let a file a few tensors off still
	// get the message naming them.
	s, err := openShards(dir, len(want)+3*cfg.NLayers+2+64)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	wantNames := make(map[string]bool, len(want))
	for _, t := range want {
		wantNames[t.name] = true
	}
	tiedHead := map[string]string{ArchGPTNeoX: "embed_out.weight"}[arch]
	if tiedHead == "" {
		tiedHead = "lm_head.weight"
	}
	entry := func(name string) (safetensors.Entry, *safetensors.File) {
		f := s.files[s.where[name]]
		e, _ := f.Entry(name)
		return e, f
	}
	var missing, unexpected nameSample
	var problems []string
	stored := make([]string, 0, len(s.where))
	for name := range s.where {
		stored = append(stored, name)
	}
	slices.Sort(stored)
	for _, name := range stored {
		if !wantNames[name] && !archBuffer.MatchString(name) && !(name == tiedHead && !cfg.Untied) {
			unexpected.add(name)
		}
	}
	for _, t := range want {
		if _, ok := s.where[t.name]; !ok {
			missing.add(t.name)
			continue
		}
		e, _ := entry(t.name)
		if !e.Convertible() {
			problems = append(problems, fmt.Sprintf("tensor %s has dtype %s, want a float type", t.name, e.DType))
		} else if !slices.Equal(e.Shape, t.shape) {
			problems = append(problems, fmt.Sprintf("tensor %s has shape %s, %s implies %s", t.name,
				tensor.ShapeString(e.Shape), ConfigFile, tensor.ShapeString(t.shape)))
		}
	}
	if _, ok := s.where[tiedHead]; ok && !cfg.Untied {
		if e, _ := entry(tiedHead); !slices.Equal(e.Shape, []int{cfg.DVocab, cfg.DModel}) {
			problems = append(problems, fmt.Sprintf("tensor %s has shape %s, want [%d,%d]", tiedHead, tensor.ShapeString(e.Shape), cfg.DVocab, cfg.DModel))
		}
	}
	if missing.n > 0 {
		problems = append(problems, "missing tensors "+missing.String())
		if _, ok := s.where[tiedHead]; cfg.Untied && !ok {
			problems = append(problems, "tie_word_embeddings is false, so "+tiedHead+" is needed")
		}
	}
	if unexpected.n > 0 {
		problems = append(problems, "unexpected tensors "+unexpected.String())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s and the weights disagree: %s", ConfigFile, strings.Join(problems, "; "))
	}
	// Every shape is checked against the files, so the allocation is
	// bounded by their size.
	dst := cfg
	dst.Untied = cfg.Untied || untie
	p := NewParams(dst)
	for _, t := range want {
		_, f := entry(t.name)
		out := p.slice(t.param)
		if t.index == nil {
			if err := f.ReadInto(t.name, out); err != nil {
				return nil, err
			}
			continue
		}
		err := f.ReadChunks(t.name, func(off int, vals []float32) error {
			for i, v := range vals {
				out[t.index(off+i)] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if _, ok := s.where[tiedHead]; ok && !cfg.Untied {
		wte := p.slice("wte.weight")
		_, f := entry(tiedHead)
		if err := checkTied(f, tiedHead, wte, "the embedding"); err != nil {
			return nil, err
		}
	}
	if untie && !cfg.Untied {
		copy(p.slice("lm_head.weight"), p.slice("wte.weight"))
	}
	return p, nil
}

// saveArch writes cfg and p as a checkpoint directory of class arch:
// config.json in transformers' keys and model.safetensors in its names and
// layouts, atomically, with each extra function run on the temporary
// directory first (see SaveParams).
func saveArch(dir string, cfg Config, p *Params, arch string, extra []func(string) error) error {
	cj, err := marshalArchConfig(cfg, arch)
	if err != nil {
		return err
	}
	tensors := map[string]*tensor.Tensor{}
	for _, t := range archTensors(cfg, arch) {
		src := p.slice(t.param)
		out := tensor.New(t.shape...)
		for i := range out.Data {
			j := i
			if t.index != nil {
				j = t.index(i)
			}
			out.Data[i] = src[j]
		}
		tensors[t.name] = out
	}
	return writeCheckpointDir(dir, cj, tensors, extra)
}
