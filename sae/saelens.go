package sae

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// Files of an SAE directory, as SAELens saves one.
const (
	CfgFile      = "cfg.json"
	WeightsFile  = "sae_weights.safetensors"
	SparsityFile = "sparsity.safetensors"
	// ResultFile is mechinterp's own record of the training (curves,
	// metrics); SAELens ignores it.
	ResultFile = "training_result.json"
)

// SAELens's architecture names in cfg.json.
const (
	saeLensStandard = "standard" // ReLU
	saeLensTopK     = "topk"
	// saeLensJumpReLU is JumpReLU, and BatchTopK at inference: SAELens
	// saves a BatchTopK SAE as a JumpReLU one whose threshold is the
	// estimated one, repeated per latent.
	saeLensJumpReLU = "jumprelu"
)

// LensConfig is cfg.json of an SAE directory in SAELens's layout: the keys
// SAELens reads to rebuild the SAE (architecture, d_in, d_sae, k,
// hook_name, normalize_activations ...), and mechinterp's own record of
// what it was trained on.
type LensConfig struct {
	Architecture         string         `json:"architecture"`
	DIn                  int            `json:"d_in"`
	DSAE                 int            `json:"d_sae"`
	K                    int            `json:"k,omitempty"`
	ActivationFn         string         `json:"activation_fn_str"`
	ActivationFnKwargs   map[string]any `json:"activation_fn_kwargs"`
	Dtype                string         `json:"dtype"`
	Device               string         `json:"device"`
	ModelName            string         `json:"model_name"`
	HookName             string         `json:"hook_name"`
	HookLayer            int            `json:"hook_layer"`
	HookHeadIndex        *int           `json:"hook_head_index"`
	ContextSize          int            `json:"context_size"`
	PrependBOS           bool           `json:"prepend_bos"`
	ApplyBDecToInput     bool           `json:"apply_b_dec_to_input"`
	NormalizeActivations string         `json:"normalize_activations"`
	DatasetPath          string         `json:"dataset_path"`
	// ScalingFactor is the factor the training activations were
	// multiplied by (sqrt(d)/E||x||, or 1), already folded into the
	// weights; normalize_activations is therefore "none".
	ScalingFactor float64 `json:"mechinterp_scaling_factor"`
	// TrainedAs is "batchtopk" for a BatchTopK SAE saved, as SAELens
	// saves one, as JumpReLU (k in K); empty otherwise.
	TrainedAs string `json:"mechinterp_trained_as,omitempty"`
}

// Save writes the SAE into dir as SAELens does: cfg.json, and
// sae_weights.safetensors with W_enc [d_in, d_sae], b_enc [d_sae], W_dec
// [d_sae, d_in] and b_dec [d_in] (float32), plus sparsity.safetensors
// ("sparsity": log10 of each feature's firing density, when density is
// given) and res, if non-nil, as training_result.json (leave its Model nil:
// the weights are in the safetensors file). The directory is written whole
// or not at all.
func (s *SAE) Save(dir string, cfg LensConfig, density []float64, res *Result) error {
	if err := s.check(); err != nil {
		return err
	}
	cfg.DIn, cfg.DSAE, cfg.Dtype, cfg.Device, cfg.ApplyBDecToInput = s.D, s.F, "float32", "cpu", true
	cfg.NormalizeActivations = "none"
	switch s.Architecture {
	case ReLU, "":
		cfg.Architecture, cfg.ActivationFn, cfg.ActivationFnKwargs = saeLensStandard, "relu", map[string]any{}
	case TopK:
		cfg.Architecture, cfg.ActivationFn, cfg.K = saeLensTopK, "topk", s.K
		cfg.ActivationFnKwargs = map[string]any{"k": s.K}
	case JumpReLU, BatchTopK:
		if len(s.Threshold) != s.F {
			return fmt.Errorf("sae: %s SAE with %d thresholds for %d latents", s.Architecture, len(s.Threshold), s.F)
		}
		cfg.Architecture, cfg.ActivationFn, cfg.ActivationFnKwargs = saeLensJumpReLU, "jumprelu", map[string]any{}
		if s.Architecture == BatchTopK {
			cfg.TrainedAs, cfg.K = string(BatchTopK), s.K
		}
	default:
		return fmt.Errorf("sae: cannot save architecture %q", s.Architecture)
	}
	we := tensor.New(s.D, s.F)
	wd := tensor.New(s.F, s.D)
	for k := 0; k < s.F; k++ {
		for j := 0; j < s.D; j++ {
			we.Data[j*s.F+k] = float32(s.We[k][j])
			wd.Data[k*s.D+j] = float32(s.Wd[k][j])
		}
	}
	weights := map[string]*tensor.Tensor{"W_enc": we, "W_dec": wd, "b_enc": vec(s.Be), "b_dec": vec(s.Bd)}
	if s.Threshold != nil {
		weights["threshold"] = vec(s.Threshold)
	}
	return atomicfile.WriteDir(dir, func(tmp string) error {
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, CfgFile), append(b, '\n'), 0o644); err != nil {
			return err
		}
		if err := safetensors.Write(filepath.Join(tmp, WeightsFile), weights, nil); err != nil {
			return err
		}
		if density != nil {
			lg := make([]float64, len(density))
			for k, p := range density {
				lg[k] = math.Log10(max(p, 1e-10)) // SAELens's floor for never-firing features
			}
			if err := safetensors.Write(filepath.Join(tmp, SparsityFile), map[string]*tensor.Tensor{"sparsity": vec(lg)}, nil); err != nil {
				return err
			}
		}
		if res != nil {
			return atomicfile.WriteJSON(filepath.Join(tmp, ResultFile), res)
		}
		return nil
	})
}

func vec(v []float64) *tensor.Tensor {
	t := tensor.New(len(v))
	for i, x := range v {
		t.Data[i] = float32(x)
	}
	return t
}

func (s *SAE) check() error {
	if s.D <= 0 || s.F <= 0 || len(s.We) != s.F || len(s.Wd) != s.F || len(s.Be) != s.F || len(s.Bd) != s.D {
		return fmt.Errorf("sae: malformed SAE (d %d, F %d)", s.D, s.F)
	}
	return nil
}

// Load reads an SAE directory in SAELens's layout (cfg.json and
// sae_weights.safetensors), written by [SAE.Save] or by SAELens. Its
// architecture must be "standard" (ReLU), "topk" or "jumprelu" (with its
// threshold tensor [d_sae]; a BatchTopK SAE loads as JumpReLU), and its activations
// not normalised at run time ("none"; SAELens folds its scaling factor
// into the weights before saving).
func Load(dir string) (*SAE, LensConfig, error) {
	var cfg LensConfig
	b, err := os.ReadFile(filepath.Join(dir, CfgFile))
	if err != nil {
		return nil, cfg, fmt.Errorf("sae: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, cfg, fmt.Errorf("sae: %s: %w", filepath.Join(dir, CfgFile), err)
	}
	s := &SAE{}
	switch cfg.Architecture {
	case saeLensStandard, "":
		s.Architecture = ReLU
	case saeLensTopK:
		s.Architecture, s.K = TopK, cfg.K
		if k, ok := cfg.ActivationFnKwargs["k"].(float64); ok && s.K == 0 {
			s.K = int(k)
		}
		if s.K <= 0 {
			return nil, cfg, fmt.Errorf("sae: %s: topk without k", dir)
		}
	case saeLensJumpReLU:
		s.Architecture = JumpReLU
	default:
		return nil, cfg, fmt.Errorf("sae: %s: architecture %q is not supported (standard, topk, jumprelu)", dir, cfg.Architecture)
	}
	if n := cfg.NormalizeActivations; n != "" && n != "none" {
		return nil, cfg, fmt.Errorf("sae: %s: normalize_activations %q: fold the scaling into the weights first", dir, n)
	}
	f, err := safetensors.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, cfg, fmt.Errorf("sae: %w", err)
	}
	defer f.Close()
	get := func(name string, shape ...int) ([]float32, error) {
		e, ok := f.Entry(name)
		if !ok {
			return nil, fmt.Errorf("sae: %s has no %s", WeightsFile, name)
		}
		if !slices.Equal(e.Shape, shape) {
			return nil, fmt.Errorf("sae: %s: %s has shape %s, want %s (d_in %d, d_sae %d in %s)", WeightsFile, name,
				tensor.ShapeString(e.Shape), tensor.ShapeString(shape), cfg.DIn, cfg.DSAE, CfgFile)
		}
		out := make([]float32, tensor.Numel(shape))
		return out, f.ReadInto(name, out)
	}
	D, F := cfg.DIn, cfg.DSAE
	if D <= 0 || F <= 0 || D*F > 1<<30 {
		return nil, cfg, fmt.Errorf("sae: %s: d_in %d, d_sae %d", CfgFile, D, F)
	}
	we, err := get("W_enc", D, F)
	if err != nil {
		return nil, cfg, err
	}
	wd, err := get("W_dec", F, D)
	if err != nil {
		return nil, cfg, err
	}
	be, err := get("b_enc", F)
	if err != nil {
		return nil, cfg, err
	}
	bd, err := get("b_dec", D)
	if err != nil {
		return nil, cfg, err
	}
	if s.Architecture == JumpReLU {
		th, err := get("threshold", F)
		if err != nil {
			return nil, cfg, err
		}
		s.Threshold = f64(th)
	}
	s.D, s.F = D, F
	s.We, s.Wd = make([][]float64, F), make([][]float64, F)
	for k := 0; k < F; k++ {
		s.We[k], s.Wd[k] = make([]float64, D), make([]float64, D)
		for j := 0; j < D; j++ {
			s.We[k][j] = float64(we[j*F+k])
			s.Wd[k][j] = float64(wd[k*D+j])
		}
	}
	s.Be, s.Bd = f64(be), f64(bd)
	return s, cfg, nil
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
