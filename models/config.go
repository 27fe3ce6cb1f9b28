package models

import (
	"errors"
	"fmt"
	"math"
)

// Normalization and positional-embedding choices for Config.
const (
	NormLN   = "LN"
	NormNone = "none"

	PosStandard    = "standard"
	PosShortformer = "shortformer"

	InitGPT2    = "gpt2"
	InitPyTorch = "pytorch"
)

// Config describes a GPT-2 style decoder. Field names follow TransformerLens's
// HookedTransformerConfig so that a user can carry settings across; the
// checkpoint's config.json uses Hugging Face GPT-2 keys instead (see
// docs/checkpoints.md).
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
	// Normalization is "LN" (pre-LayerNorm, GPT-2) or "none".
	Normalization string `json:"normalization" mapstructure:"normalization" yaml:"normalization"`
	// Positional is "standard" (added to the residual stream) or
	// "shortformer" (added only to the inputs of queries and keys).
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
	return c
}

// Validate reports the first thing wrong with c (after WithDefaults).
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
	if c.Normalization != NormLN && c.Normalization != NormNone {
		errs = append(errs, fmt.Errorf("normalization must be %q or %q, got %q", NormLN, NormNone, c.Normalization))
	}
	if !(c.InitializerRange > 0) || math.IsInf(float64(c.InitializerRange), 0) {
		errs = append(errs, fmt.Errorf("initializer_range must be positive, got %g", c.InitializerRange))
	}
	if c.Init != InitGPT2 && c.Init != InitPyTorch {
		errs = append(errs, fmt.Errorf("init must be %q or %q, got %q", InitGPT2, InitPyTorch, c.Init))
	}
	if c.Positional != PosStandard && c.Positional != PosShortformer {
		errs = append(errs, fmt.Errorf("positional must be %q or %q, got %q", PosStandard, PosShortformer, c.Positional))
	}
	if len(errs) > 0 {
		return fmt.Errorf("models: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// HasLN reports whether the blocks use LayerNorm.
func (c Config) HasLN() bool { return c.Normalization == NormLN }
