package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The Hugging Face side of a checkpoint: config.json in GPT-2's keys, read
// from ours and from downloaded directories alike, and written so that
// transformers loads ours (see docs/checkpoints.md).

// hfConfig is config.json as read: pointers tell absent keys from zeros.
// Keys Hugging Face writes that do not change the arithmetic (dropout,
// summary_*, bos/eos ids, ...) are ignored.
type hfConfig struct {
	ModelType          *string  `json:"model_type"`
	Architectures      []string `json:"architectures"`
	VocabSize          *int     `json:"vocab_size"`
	NPositions         *int     `json:"n_positions"`
	NCtx               *int     `json:"n_ctx"`
	NEmbd              *int     `json:"n_embd"`
	NLayer             *int     `json:"n_layer"`
	NHead              *int     `json:"n_head"`
	NInner             *int     `json:"n_inner"`
	ActivationFunction *string  `json:"activation_function"`
	LayerNormEpsilon   *float64 `json:"layer_norm_epsilon"`
	TieWordEmbeddings  *bool    `json:"tie_word_embeddings"`
	ScaleAttnWeights   *bool    `json:"scale_attn_weights"`
	ScaleAttnByLayer   *bool    `json:"scale_attn_by_inverse_layer_idx"`
	InitializerRange   *float64 `json:"initializer_range"`

	FormatVersion *int    `json:"mechinterp_format_version"`
	AttnOnly      *bool   `json:"mechinterp_attn_only"`
	Normalization *string `json:"mechinterp_normalization"`
	Positional    *string `json:"mechinterp_positional"`
	DHead         *int    `json:"mechinterp_d_head"`
	Seed          *uint64 `json:"mechinterp_seed"`
}

// hfConfigOut is config.json as written, in this key order.
type hfConfigOut struct {
	Architectures              []string    `json:"architectures"`
	ModelType                  string      `json:"model_type"`
	VocabSize                  int         `json:"vocab_size"`
	NPositions                 int         `json:"n_positions"`
	NCtx                       int         `json:"n_ctx"`
	NEmbd                      int         `json:"n_embd"`
	NLayer                     int         `json:"n_layer"`
	NHead                      int         `json:"n_head"`
	NInner                     *int        `json:"n_inner"`
	ActivationFunction         string      `json:"activation_function"`
	LayerNormEpsilon           json.Number `json:"layer_norm_epsilon"`
	TieWordEmbeddings          bool        `json:"tie_word_embeddings"`
	ResidPdrop                 float64     `json:"resid_pdrop"`
	EmbdPdrop                  float64     `json:"embd_pdrop"`
	AttnPdrop                  float64     `json:"attn_pdrop"`
	InitializerRange           json.Number `json:"initializer_range"`
	ScaleAttnWeights           bool        `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx bool        `json:"scale_attn_by_inverse_layer_idx"`
	ReorderAndUpcastAttn       bool        `json:"reorder_and_upcast_attn"`
	TorchDtype                 string      `json:"torch_dtype"`

	MechinterpFormatVersion int    `json:"mechinterp_format_version"`
	MechinterpAttnOnly      bool   `json:"mechinterp_attn_only"`
	MechinterpNormalization string `json:"mechinterp_normalization"`
	MechinterpPositional    string `json:"mechinterp_positional"`
	MechinterpDHead         int    `json:"mechinterp_d_head"`
	MechinterpSeed          uint64 `json:"mechinterp_seed"`
}

// knownExtensionKeys are the mechinterp_* keys this version understands.
var knownExtensionKeys = []string{
	"mechinterp_format_version", "mechinterp_attn_only", "mechinterp_normalization",
	"mechinterp_positional", "mechinterp_d_head", "mechinterp_seed",
}

// MarshalHFConfig encodes cfg as a Hugging Face GPT-2 config.json, with
// mechinterp_* keys for what GPT-2 cannot express. The config is validated
// first.
func MarshalHFConfig(cfg Config) ([]byte, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.IsGPT2() {
		return nil, errors.New("models: a GPT-2 config.json cannot describe this architecture (rotary, RMSNorm, gated MLP, grouped-query, parallel or dropped biases)")
	}
	out := hfConfigOut{
		Architectures:           []string{"GPT2LMHeadModel"},
		ModelType:               "gpt2",
		VocabSize:               cfg.DVocab,
		NPositions:              cfg.NCtx,
		NCtx:                    cfg.NCtx,
		NEmbd:                   cfg.DModel,
		NLayer:                  cfg.NLayers,
		NHead:                   cfg.NHeads,
		ActivationFunction:      "gelu_new",
		LayerNormEpsilon:        json.Number(strconv.FormatFloat(float64(cfg.LNEps), 'g', -1, 32)),
		TieWordEmbeddings:       !cfg.Untied,
		InitializerRange:        json.Number(strconv.FormatFloat(float64(cfg.InitializerRange), 'g', -1, 32)),
		ScaleAttnWeights:        true,
		TorchDtype:              "float32",
		MechinterpFormatVersion: CheckpointFormatVersion,
		MechinterpAttnOnly:      cfg.AttnOnly,
		MechinterpNormalization: cfg.Normalization,
		MechinterpPositional:    cfg.Positional,
		MechinterpDHead:         cfg.DHead,
		MechinterpSeed:          cfg.Seed,
	}
	if !cfg.AttnOnly && cfg.DMLP != 4*cfg.DModel {
		d := cfg.DMLP
		out.NInner = &d
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("models: encoding config.json: %w", err)
	}
	return append(b, '\n'), nil
}

// UnmarshalHFConfig decodes a Hugging Face config.json (ours or one
// downloaded from the Hub) into a validated Config: GPT-2, GPT-NeoX, Llama,
// Qwen2 or Mistral by its model_type. Absent mechinterp_* keys
// mean GPT-2: LayerNorm, standard positions, MLPs, d_head = n_embd/n_head.
func UnmarshalHFConfig(data []byte) (Config, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return Config{}, errors.New("malformed JSON: not a JSON object")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return Config{}, fmt.Errorf("malformed JSON at line %d: %w", line, err)
		}
		return Config{}, fmt.Errorf("malformed JSON: %w", err)
	}
	var unknown []string
	for k := range keys {
		if strings.HasPrefix(k, "mechinterp_") && !slices.Contains(knownExtensionKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Config{}, fmt.Errorf("unknown extension keys %s (written by a newer mechinterp?)", strings.Join(unknown, ", "))
	}
	var mt struct {
		ModelType *string `json:"model_type"`
	}
	if json.Unmarshal(data, &mt) == nil && mt.ModelType != nil {
		if arch, ok := archModelTypes[*mt.ModelType]; ok {
			return unmarshalArchConfig(data, arch)
		}
	}
	var h hfConfig
	if err := decodeConfig(data, &h, &h.FormatVersion); err != nil {
		return Config{}, err
	}
	switch {
	case h.ModelType == nil:
		return Config{}, errors.New(`no model_type (want "gpt2")`)
	case *h.ModelType != "gpt2":
		return Config{}, fmt.Errorf(`unsupported model_type %q: want "gpt2", "gpt_neox", "llama", "qwen2" or "mistral"`, *h.ModelType)
	}
	if len(h.Architectures) > 0 && !slices.ContainsFunc(h.Architectures, func(a string) bool {
		return a == "GPT2LMHeadModel" || a == "GPT2Model"
	}) {
		return Config{}, fmt.Errorf("unsupported architectures %v: want GPT2LMHeadModel or GPT2Model", h.Architectures)
	}
	if h.ActivationFunction != nil {
		switch *h.ActivationFunction {
		case "gelu_new", "gelu_pytorch_tanh": // the same tanh approximation
		default:
			return Config{}, fmt.Errorf(`unsupported activation_function %q: only "gelu_new" (tanh GELU) is supported`, *h.ActivationFunction)
		}
	}
	if h.ScaleAttnWeights != nil && !*h.ScaleAttnWeights {
		return Config{}, errors.New("unsupported scale_attn_weights false: attention scores are always scaled by 1/sqrt(d_head)")
	}
	if h.ScaleAttnByLayer != nil && *h.ScaleAttnByLayer {
		return Config{}, errors.New("unsupported scale_attn_by_inverse_layer_idx true")
	}
	need := func(name string, v *int) (int, error) {
		if v == nil {
			return 0, fmt.Errorf("missing key %s", name)
		}
		return *v, nil
	}
	var c Config
	var err error
	if c.DVocab, err = need("vocab_size", h.VocabSize); err != nil {
		return Config{}, err
	}
	if c.DModel, err = need("n_embd", h.NEmbd); err != nil {
		return Config{}, err
	}
	if c.NLayers, err = need("n_layer", h.NLayer); err != nil {
		return Config{}, err
	}
	if c.NHeads, err = need("n_head", h.NHead); err != nil {
		return Config{}, err
	}
	switch {
	case h.NPositions != nil:
		c.NCtx = *h.NPositions
	case h.NCtx != nil:
		c.NCtx = *h.NCtx
	default:
		return Config{}, errors.New("missing key n_positions")
	}
	if h.AttnOnly != nil {
		c.AttnOnly = *h.AttnOnly
	}
	if h.NInner != nil && !c.AttnOnly {
		c.DMLP = *h.NInner
	}
	if h.Normalization != nil {
		if n := *h.Normalization; n != NormLN && n != NormNone {
			return Config{}, fmt.Errorf("mechinterp_normalization must be %q or %q in a GPT-2 config, got %q", NormLN, NormNone, n)
		}
		c.Normalization = *h.Normalization
	}
	if h.Positional != nil {
		if p := *h.Positional; p != PosStandard && p != PosShortformer {
			return Config{}, fmt.Errorf("mechinterp_positional must be %q or %q in a GPT-2 config, got %q", PosStandard, PosShortformer, p)
		}
		c.Positional = *h.Positional
	}
	if h.DHead != nil {
		c.DHead = *h.DHead
	} else if c.NHeads > 0 && c.DModel%c.NHeads != 0 {
		return Config{}, fmt.Errorf("n_embd %d is not divisible by n_head %d (and no mechinterp_d_head)", c.DModel, c.NHeads)
	}
	if h.TieWordEmbeddings != nil {
		c.Untied = !*h.TieWordEmbeddings
	}
	if h.Seed != nil {
		c.Seed = *h.Seed
	}
	if h.LayerNormEpsilon != nil {
		if e := *h.LayerNormEpsilon; !(e > 0) || e > math.MaxFloat32 {
			return Config{}, fmt.Errorf("layer_norm_epsilon must be positive, got %v", e)
		}
		c.LNEps = float32(*h.LayerNormEpsilon)
	}
	if h.InitializerRange != nil {
		if r := *h.InitializerRange; !(r > 0) || r > math.MaxFloat32 {
			return Config{}, fmt.Errorf("initializer_range must be positive, got %v", r)
		}
		c.InitializerRange = float32(*h.InitializerRange)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeConfig decodes config.json into v (an hfConfig or archConfig),
// naming a key of the wrong JSON type, and refuses a
// mechinterp_format_version newer than this program's; version points at
// v's field for that key, read after decoding.
func decodeConfig(data []byte, v any, version **int) error {
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &wrapped{fmt.Sprintf("key %s must be %s, got a JSON %s", te.Field, jsonKind(te.Type.Kind()), te.Value), err}
		}
		return fmt.Errorf("malformed config: %w", err)
	}
	if *version != nil && **version > CheckpointFormatVersion {
		return fmt.Errorf("mechinterp_format_version %d is newer than this program's %d", **version, CheckpointFormatVersion)
	}
	return nil
}

// wrapped is an error with its own message that still unwraps to its cause.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Uint64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	}
	return k.String()
}
