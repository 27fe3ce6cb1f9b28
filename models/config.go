package models

import (
	"errors"
	"fmt"
	"math"
)

// Normalization and positional-embedding choices for Config.
const (
	NormLN   = "LN"
	NormRMS  = "RMS"
	NormNone = "none"

	PosStandard    = "standard"
	PosShortformer = "shortformer"
	PosRotary      = "rotary"

	// MLP activations, named as Hugging Face's ACT2FN names them.
	ActGeluNew = "gelu_new" // GPT-2's tanh approximation
	ActGelu    = "gelu"     // exact, x·Φ(x) (GPT-NeoX)
	ActSilu    = "silu"     // x·σ(x) (Llama's SwiGLU gate)

	InitGPT2    = "gpt2"
	InitPyTorch = "pytorch"
)

// Config describes a decoder-only transformer: GPT-2 by default, and by its
// architecture fields GPT-NeoX/Pythia (rotary positions on a fraction of each
// head, parallel attention and MLP, exact GELU, untied unembedding) and the
// Llama family (RMSNorm, rotary positions, SwiGLU, grouped-query attention,
// no biases; Qwen2's q/k/v biases). Field names follow TransformerLens's
// HookedTransformerConfig so that a user can carry settings across; the
// checkpoint's config.json uses Hugging Face keys instead (see
// docs/checkpoints.md and docs/models.md). The zero value of every
// architecture field means GPT-2.
type Config struct {
	NLayers int `json:"n_layers" mapstructure:"n_layers" yaml:"n_layers"`
	NHeads  int `json:"n_heads" mapstructure:"n_heads" yaml:"n_heads"`
	DModel  int `json:"d_model" mapstructure:"d_model" yaml:"d_model"`
	// DHead is the width of one head; 0 means DModel/NHeads.
	DHead int `json:"d_head" mapstructure:"d_head" yaml:"d_head"`
	// DMLP is the MLP hidden width; 0 means 4*DModel. Ignored when AttnOnly.
	DMLP   int `json:"d_mlp" mapstructure:"d_mlp" yaml:"d_mlp"`
	NCtx   int `json:"n_ctx" mapstructure:"n_ctx" yaml:"n_ctx"`
	DVocab int `json:"d_vocab" mapstructure:"d_vocab" yaml:"d_vocab"`
	// AttnOnly drops every MLP (and ln2) from the blocks.
	AttnOnly bool `json:"attn_only" mapstructure:"attn_only" yaml:"attn_only"`
	// Normalization is "LN" (pre-LayerNorm, GPT-2), "RMS" (RMSNorm, Zhang &
	// Sennrich 2019, as Llama) or "none".
	Normalization string `json:"normalization" mapstructure:"normalization" yaml:"normalization"`
	// Positional is "standard" (added to the residual stream) or
	// "shortformer" (added only to the inputs of queries and keys) or
	// "rotary" (RoFormer, Su et al. 2021: queries and keys rotated by
	// position, no positional embedding).
	Positional string `json:"positional" mapstructure:"positional" yaml:"positional"`
	// Untied gives the unembedding its own matrix instead of W_E^T.
	Untied bool `json:"untied" mapstructure:"untied" yaml:"untied"`
	// Seed drives initialization.
	Seed uint64 `json:"seed" mapstructure:"seed" yaml:"seed"`
	// LNEps is LayerNorm's epsilon; 0 means 1e-5 (GPT-2).
	LNEps float32 `json:"ln_eps" mapstructure:"ln_eps" yaml:"ln_eps"`
	// InitializerRange is the standard deviation of the initial weights
	// (TransformerLens's and Hugging Face's initializer_range); 0 means
	// GPT-2's 0.02. Small models form attention patterns sooner from larger
	// values, such as TransformerLens's 0.8/√d_model.
	InitializerRange float32 `json:"initializer_range" mapstructure:"initializer_range" yaml:"initializer_range"`
	// Init is the initialization scheme of New: "gpt2" (the default) or
	// "pytorch" (see InitPyTorch). InitializerRange applies to "gpt2" only.
	Init string `json:"init,omitempty" mapstructure:"init" yaml:"init,omitempty"`

	// NKVHeads is the number of key/value heads (grouped-query attention,
	// Ainslie et al. 2023): query head h reads key/value head
	// h/(NHeads/NKVHeads). 0 means NHeads.
	NKVHeads int `json:"n_key_value_heads,omitempty" mapstructure:"n_key_value_heads" yaml:"n_key_value_heads,omitempty"`
	// RotaryDim is how many leading dimensions of each head rotary positions
	// rotate (GPT-NeoX's rotary_pct·d_head); 0 means all of them.
	RotaryDim int `json:"rotary_dim,omitempty" mapstructure:"rotary_dim" yaml:"rotary_dim,omitempty"`
	// RotaryBase is the rotary base θ (Hugging Face's rope_theta); 0 means
	// 10000.
	RotaryBase float64 `json:"rotary_base,omitempty" mapstructure:"rotary_base" yaml:"rotary_base,omitempty"`
	// RotaryScaling rescales the rotary frequencies for contexts longer
	// than training's (Hugging Face's rope_scaling); the zero value is none.
	RotaryScaling RotaryScaling `json:"rotary_scaling,omitzero" mapstructure:"rotary_scaling" yaml:"rotary_scaling,omitempty"`
	// ParallelAttnMLP reads attention and MLP from the same resid_pre and
	// adds both to it (GPT-J, GPT-NeoX's use_parallel_residual): there is no
	// resid_mid.
	ParallelAttnMLP bool `json:"parallel_attn_mlp,omitempty" mapstructure:"parallel_attn_mlp" yaml:"parallel_attn_mlp,omitempty"`
	// ActFn is the MLP's activation: "gelu_new" (the default), "gelu" or
	// "silu".
	ActFn string `json:"act_fn,omitempty" mapstructure:"act_fn" yaml:"act_fn,omitempty"`
	// GatedMLP multiplies the activation by a second projection
	// (Shazeer 2020, GLU variants; SwiGLU with "silu"):
	// post = act(x·W_gate)·(x·W_in).
	GatedMLP bool `json:"gated_mlp,omitempty" mapstructure:"gated_mlp" yaml:"gated_mlp,omitempty"`
	// NoQKVBias, NoAttnOutBias, NoMLPBias and NoUnembedBias drop the biases
	// of the q/k/v projections, of the attention output, of the MLP's
	// projections and of the unembedding (Llama has none; Qwen2 keeps q/k/v).
	NoQKVBias     bool `json:"no_qkv_bias,omitempty" mapstructure:"no_qkv_bias" yaml:"no_qkv_bias,omitempty"`
	NoAttnOutBias bool `json:"no_attn_out_bias,omitempty" mapstructure:"no_attn_out_bias" yaml:"no_attn_out_bias,omitempty"`
	NoMLPBias     bool `json:"no_mlp_bias,omitempty" mapstructure:"no_mlp_bias" yaml:"no_mlp_bias,omitempty"`
	NoUnembedBias bool `json:"no_unembed_bias,omitempty" mapstructure:"no_unembed_bias" yaml:"no_unembed_bias,omitempty"`
	// HFArchitecture is the Hugging Face class a checkpoint is written as
	// ("GPT2LMHeadModel", "GPTNeoXForCausalLM", "LlamaForCausalLM",
	// "Qwen2ForCausalLM", "MistralForCausalLM"); empty chooses from the
	// other fields (see SaveParams). Loading sets it.
	HFArchitecture string `json:"hf_architecture,omitempty" mapstructure:"hf_architecture" yaml:"hf_architecture,omitempty"`
}

// Rotary scaling types of RotaryScaling.Type.
const (
	ScalingLinear = "linear" // every frequency divided by Factor (position interpolation)
	ScalingLlama3 = "llama3" // Llama 3.1's frequency-dependent rescaling
)

// RotaryScaling is Hugging Face's rope_scaling for the types implemented:
// "linear" divides every rotary frequency θ_i by Factor (Chen et al. 2023,
// position interpolation); "llama3" (Llama 3.1, transformers'
// _compute_llama3_parameters) keeps the frequencies whose wavelength 2π/θ_i
// is below OriginalContext/HighFreqFactor, divides those above
// OriginalContext/LowFreqFactor by Factor, and between the two interpolates
// θ_i·((1−s)/Factor + s) with s = (OriginalContext/wavelength −
// LowFreqFactor)/(HighFreqFactor − LowFreqFactor).
type RotaryScaling struct {
	Type            string  `json:"type,omitempty" mapstructure:"type" yaml:"type,omitempty"`
	Factor          float64 `json:"factor,omitempty" mapstructure:"factor" yaml:"factor,omitempty"`
	LowFreqFactor   float64 `json:"low_freq_factor,omitempty" mapstructure:"low_freq_factor" yaml:"low_freq_factor,omitempty"`
	HighFreqFactor  float64 `json:"high_freq_factor,omitempty" mapstructure:"high_freq_factor" yaml:"high_freq_factor,omitempty"`
	OriginalContext int     `json:"original_max_position_embeddings,omitempty" mapstructure:"original_max_position_embeddings" yaml:"original_max_position_embeddings,omitempty"`
}

// validate reports what is wrong with a scaling.
func (s RotaryScaling) validate() error {
	finite := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch s.Type {
	case "":
		if s != (RotaryScaling{}) {
			return errors.New("rotary_scaling has values but no type")
		}
	case ScalingLinear:
		if !finite(s.Factor) {
			return fmt.Errorf("rotary_scaling factor must be positive, got %g", s.Factor)
		}
	case ScalingLlama3:
		if !finite(s.Factor) || !finite(s.LowFreqFactor) || !finite(s.HighFreqFactor) || !(s.HighFreqFactor > s.LowFreqFactor) || s.OriginalContext <= 0 {
			return fmt.Errorf("rotary_scaling llama3 needs positive factor, low_freq_factor < high_freq_factor and original_max_position_embeddings, got %+v", s)
		}
	default:
		return fmt.Errorf("rotary_scaling type must be %q or %q, got %q", ScalingLinear, ScalingLlama3, s.Type)
	}
	return nil
}

// WithDefaults fills the derived fields left at zero: DHead, DMLP,
// Normalization, Positional, LNEps, InitializerRange and Init.
func (c Config) WithDefaults() Config {
	if c.DHead == 0 && c.NHeads > 0 {
		c.DHead = c.DModel / c.NHeads
	}
	if c.DMLP == 0 && !c.AttnOnly {
		c.DMLP = 4 * c.DModel
	}
	if c.AttnOnly {
		c.DMLP = 0
	}
	if c.Normalization == "" {
		c.Normalization = NormLN
	}
	if c.Positional == "" {
		c.Positional = PosStandard
	}
	if c.LNEps == 0 {
		c.LNEps = 1e-5
	}
	if c.InitializerRange == 0 {
		c.InitializerRange = 0.02
	}
	if c.Init == "" {
		c.Init = InitGPT2
	}
	if c.NKVHeads == 0 {
		c.NKVHeads = c.NHeads
	}
	if c.Positional == PosRotary {
		if c.RotaryDim == 0 {
			c.RotaryDim = c.DHead
		}
		if c.RotaryBase == 0 {
			c.RotaryBase = 10000
		}
	}
	if c.ActFn == "" {
		c.ActFn = ActGeluNew
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults): a size that
// is not positive, above MaxLayers or MaxDim, or a layout of more than
// MaxParams parameters, and an unknown choice.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	pos("n_layers", c.NLayers)
	pos("n_heads", c.NHeads)
	pos("d_model", c.DModel)
	pos("d_head", c.DHead)
	pos("n_ctx", c.NCtx)
	pos("d_vocab", c.DVocab)
	if !c.AttnOnly {
		pos("d_mlp", c.DMLP)
	}
	if len(errs) == 0 {
		if err := c.validateSizes(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Normalization != NormLN && c.Normalization != NormRMS && c.Normalization != NormNone {
		errs = append(errs, fmt.Errorf("normalization must be %q, %q or %q, got %q", NormLN, NormRMS, NormNone, c.Normalization))
	}
	if c.NKVHeads <= 0 || c.NHeads > 0 && c.NHeads%c.NKVHeads != 0 {
		errs = append(errs, fmt.Errorf("n_key_value_heads must be positive and divide n_heads %d, got %d", c.NHeads, c.NKVHeads))
	}
	if c.Positional == PosRotary {
		if c.RotaryDim <= 0 || c.RotaryDim%2 != 0 || c.RotaryDim > c.DHead {
			errs = append(errs, fmt.Errorf("rotary_dim must be even and in (0, d_head=%d], got %d", c.DHead, c.RotaryDim))
		}
		if !(c.RotaryBase > 1) || math.IsInf(c.RotaryBase, 0) {
			errs = append(errs, fmt.Errorf("rotary_base must be a finite number above 1, got %g", c.RotaryBase))
		}
		if err := c.RotaryScaling.validate(); err != nil {
			errs = append(errs, err)
		}
	} else if c.RotaryDim != 0 || c.RotaryBase != 0 || c.RotaryScaling != (RotaryScaling{}) {
		errs = append(errs, fmt.Errorf("rotary_dim, rotary_base and rotary_scaling need positional %q", PosRotary))
	}
	if c.ActFn != ActGeluNew && c.ActFn != ActGelu && c.ActFn != ActSilu {
		errs = append(errs, fmt.Errorf("act_fn must be %q, %q or %q, got %q", ActGeluNew, ActGelu, ActSilu, c.ActFn))
	}
	if c.AttnOnly && (c.GatedMLP || c.ParallelAttnMLP) {
		errs = append(errs, errors.New("gated_mlp and parallel_attn_mlp need an MLP (attn_only is set)"))
	}
	if !(c.InitializerRange > 0) || math.IsInf(float64(c.InitializerRange), 0) {
		errs = append(errs, fmt.Errorf("initializer_range must be positive, got %g", c.InitializerRange))
	}
	if c.Init != InitGPT2 && c.Init != InitPyTorch {
		errs = append(errs, fmt.Errorf("init must be %q or %q, got %q", InitGPT2, InitPyTorch, c.Init))
	}
	if c.Positional != PosStandard && c.Positional != PosShortformer && c.Positional != PosRotary {
		errs = append(errs, fmt.Errorf("positional must be %q, %q or %q, got %q", PosStandard, PosShortformer, PosRotary, c.Positional))
	}
	if len(errs) > 0 {
		return fmt.Errorf("models: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// HasLN reports whether the blocks use LayerNorm.
func (c Config) HasLN() bool { return c.Normalization == NormLN }

// HasNorm reports whether the blocks normalize (LayerNorm or RMSNorm).
func (c Config) HasNorm() bool { return c.Normalization == NormLN || c.Normalization == NormRMS }

// HasPosEmbed reports whether the model has a learned positional embedding
// W_pos (standard or shortformer positions; rotary has none).
func (c Config) HasPosEmbed() bool { return c.Positional != PosRotary }

// IsGPT2 reports whether c uses only GPT-2's architecture choices (any of
// the original options: attention-only, no LayerNorm, shortformer, untied),
// which the analyses written for GPT-2's weights assume.
func (c Config) IsGPT2() bool {
	c = c.WithDefaults()
	return c.Normalization != NormRMS && c.Positional != PosRotary && c.NKVHeads == c.NHeads &&
		!c.ParallelAttnMLP && c.ActFn == ActGeluNew && !c.GatedMLP &&
		!c.NoQKVBias && !c.NoAttnOutBias && !c.NoMLPBias && !c.NoUnembedBias
}
