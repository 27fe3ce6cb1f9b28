package probes

import (
	"fmt"
	"strings"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Pooling names how an input's activations [T, d] become one vector.
const (
	PoolMean = "mean" // the mean over the input's positions
	PoolLast = "last" // the last position's
)

// OODConfig configures out-of-distribution detection on a model's
// activations.
type OODConfig struct {
	// Hook is the activation read at every layer, as a TransformerLens leaf
	// name ("resid_post", the default; "attn_out", "mlp_out", "resid_pre" ...).
	Hook string `json:"hook"`
	// Pool is "mean" (default) or "last".
	Pool string `json:"pool"`
	// Shrinkage λ of every covariance (default 0.01; see FitGaussian).
	Shrinkage float64 `json:"shrinkage"`
	// TPR is the true-positive rate of the reported false-positive rate
	// (default 0.95).
	TPR float64 `json:"tpr"`
}

// WithDefaults fills the fields left at zero.
func (c OODConfig) WithDefaults() OODConfig {
	if c.Hook == "" {
		c.Hook = "resid_post"
	}
	if c.Pool == "" {
		c.Pool = PoolMean
	}
	if c.Shrinkage == 0 {
		c.Shrinkage = 0.01
	}
	if c.TPR == 0 {
		c.TPR = 0.95
	}
	return c
}

// OODScore is one method's result at one layer.
type OODScore struct {
	Method OODMethod `json:"method"`
	AUROC  float64   `json:"auroc"`
	// FPR is the false-positive rate at the TPR of the config.
	FPR float64    `json:"fpr"`
	ROC []ROCPoint `json:"roc"`
}

// OODLayer holds every method's result at one layer.
type OODLayer struct {
	Layer  int        `json:"layer"`
	Name   string     `json:"name"`
	Scores []OODScore `json:"scores"`
}

// OODResult is out-of-distribution detection at every layer.
type OODResult struct {
	Config OODConfig  `json:"config"`
	Layers []OODLayer `json:"layers"`
	// Sizes are the numbers of fitting, background, held-out in- and
	// out-of-distribution inputs.
	Sizes map[string]int `json:"sizes"`
}

// MarshalJSON writes NaN as null.
func (r OODResult) MarshalJSON() ([]byte, error) {
	type plain OODResult
	return jsonx.Marshal(plain(r))
}

// hookAt is the full hook name of leaf at layer l, if the model has it.
func hookAt(c models.Config, leaf string, l int) (string, bool) {
	leaf = strings.TrimPrefix(leaf, "hook_")
	prefix := fmt.Sprintf("blocks.%d.", l)
	for _, n := range models.HookNames(c, false) {
		if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, "hook_"+leaf) &&
			(strings.TrimPrefix(n, prefix) == "hook_"+leaf || strings.TrimPrefix(n, prefix) == "attn.hook_"+leaf) {
			return n, true
		}
	}
	return "", false
}

// OODActivations runs seqs (any lengths up to n_ctx) through m and returns,
// for every layer, each sequence's pooled activation at the hook:
// out[layer][sequence] is a vector of the hook's width. Hooks whose
// activation is not [B,T,d] (attention patterns) are refused.
func OODActivations(m *models.Model, seqs [][]int, hook, pool string) ([][][]float64, []string, error) {
	if pool != PoolMean && pool != PoolLast {
		return nil, nil, fmt.Errorf("probes: pooling %q (want mean or last)", pool)
	}
	L := m.Config.NLayers
	names := make([]string, L)
	at := map[string]int{}
	for l := range names {
		n, ok := hookAt(m.Config, hook, l)
		if !ok {
			return nil, nil, fmt.Errorf("probes: the model has no hook %q in block %d (try resid_post, resid_pre, attn_out, mlp_out)", hook, l)
		}
		names[l], at[n] = n, l
	}
	out := make([][][]float64, L)
	const chunk = 64
	for lo := 0; lo < len(seqs); lo += chunk {
		part := seqs[lo:min(lo+chunk, len(seqs))]
		T := 0
		for i, s := range part {
			if len(s) == 0 {
				return nil, nil, fmt.Errorf("probes: sequence %d is empty", lo+i)
			}
			T = max(T, len(s))
		}
		B := len(part)
		tokens := make([]int, B*T) // right-padded with 0: causal attention keeps it out
		for i, s := range part {
			copy(tokens[i*T:], s)
		}
		var herr error
		hookFn := func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
			l, ok := at[name]
			if !ok {
				return nil, nil
			}
			if len(act.Shape) != 3 {
				herr = fmt.Errorf("probes: %s has shape %v; OOD detection reads [batch, pos, d] activations", name, act.Shape)
				return nil, herr
			}
			d := act.Shape[2]
			for i, s := range part {
				v := make([]float64, d)
				first, last := 0, len(s)
				if pool == PoolLast {
					first = len(s) - 1
				}
				for p := first; p < last; p++ {
					row := act.Data[(i*T+p)*d : (i*T+p+1)*d]
					for j, x := range row {
						v[j] += float64(x)
					}
				}
				for j := range v {
					v[j] /= float64(last - first)
				}
				out[l] = append(out[l], v)
			}
			return nil, nil
		}
		p, err := m.Forward(tokens, B, T, nil, &models.Options{Hook: hookFn, NoGrad: true})
		if err != nil {
			if herr != nil {
				return nil, nil, herr
			}
			return nil, nil, err
		}
		p.Release()
	}
	return out, names, nil
}

// OODSets are the inputs of an OOD experiment: Fit for the in-distribution
// Gaussian, an optional Background for the relative distance, optional
// labelled Outliers for few-shot outlier exposure, and the held-out In
// (negatives) and Out (positives).
type OODSets struct {
	Fit, Background, Outliers, In, Out [][]int
}

// OOD fits, at every layer, the in-distribution Gaussian to the fitting
// inputs' activations (and the background and outlier Gaussians, when those
// sets are given), scores the held-out inputs with every method that applies,
// and reports AUROC, the FPR at the config's TPR, and ROC curves.
func OOD(m *models.Model, sets OODSets, cfg OODConfig) (*OODResult, error) {
	cfg = cfg.WithDefaults()
	fit, background, testIn, testOut := sets.Fit, sets.Background, sets.In, sets.Out
	if len(fit) < 2 || len(testIn) == 0 || len(testOut) == 0 {
		return nil, fmt.Errorf("probes: OOD needs ≥ 2 fitting inputs and held-out in- and out-of-distribution inputs; got %d, %d and %d",
			len(fit), len(testIn), len(testOut))
	}
	if !(cfg.TPR > 0 && cfg.TPR <= 1) {
		return nil, fmt.Errorf("probes: TPR %g outside (0,1]", cfg.TPR)
	}
	// The activations [layer][input][d] of each set (nil for an empty one), by layer name.
	var names []string
	acts := make([][][][]float64, 5)
	for i, set := range [][][]int{fit, background, testIn, testOut, sets.Outliers} {
		if len(set) == 0 {
			continue
		}
		a, n, err := OODActivations(m, set, cfg.Hook, cfg.Pool)
		if err != nil {
			return nil, err
		}
		acts[i], names = a, n
	}
	aFit, aBg, aIn, aOut, aOutliers := acts[0], acts[1], acts[2], acts[3], acts[4]
	res := &OODResult{Config: cfg, Sizes: map[string]int{"fit": len(fit), "background": len(background), "outliers": len(sets.Outliers),
		"in": len(testIn), "out": len(testOut)}}
	var methods []OODMethod
	for _, meth := range OODMethods {
		if (meth != RelativeMahalanobis || len(background) > 0) && (meth != OutlierExposure || len(sets.Outliers) > 0) {
			methods = append(methods, meth)
		}
	}
	for l, name := range names {
		var bg [][]float64
		if aBg != nil {
			bg = aBg[l]
		}
		s, err := FitOOD(aFit[l], bg, cfg.Shrinkage)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if aOutliers != nil {
			if err := s.ExposeOutliers(aOutliers[l]); err != nil {
				return nil, err
			}
		}
		layer := OODLayer{Layer: l, Name: name}
		for _, meth := range methods {
			score := func(xs [][]float64) ([]float64, error) {
				out := make([]float64, len(xs))
				for i, x := range xs {
					v, err := s.Score(meth, x)
					if err != nil {
						return nil, err
					}
					out[i] = v
				}
				return out, nil
			}
			neg, err := score(aIn[l])
			if err != nil {
				return nil, err
			}
			pos, err := score(aOut[l])
			if err != nil {
				return nil, err
			}
			layer.Scores = append(layer.Scores, OODScore{Method: meth, AUROC: AUROC(neg, pos), FPR: FPRAtTPR(neg, pos, cfg.TPR), ROC: thinROC(ROC(neg, pos), 200)})
		}
		res.Layers = append(res.Layers, layer)
	}
	return res, nil
}

// thinROC keeps at most n+1 points of a curve, always its ends.
func thinROC(c []ROCPoint, n int) []ROCPoint {
	if len(c) <= n+1 {
		return c
	}
	out := make([]ROCPoint, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, c[i*(len(c)-1)/n])
	}
	return append(out, c[len(c)-1])
}
