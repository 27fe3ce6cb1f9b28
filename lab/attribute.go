package lab

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Attribution decomposes preference-model rewards into the components that
// write the final residual stream, as direct logit attribution does for a
// logit (Elhage et al. 2021): the reward head is linear in the final
// LayerNorm's output, so with the LayerNorm's scale frozen at its value on
// the input,
//
//	r = Σ_c (γ⊙w)·(c − mean(c))/s + (w·β + b)
//
// over the embeddings, each head, each layer's attention bias and each MLP
// (RMSNorm: no centring; no normalization: w·c). It also patches each
// layer's attention and MLP output from the chosen sample into the rejected
// one and measures how much of the reward gap each patch recovers.
type Attribution struct {
	// Components names the components ("embed", "pos_embed", "L0H1",
	// "L0 attn bias", "L0 mlp" ...).
	Components []string `json:"components"`
	// Chosen and Rejected are the mean contributions to the reward of the
	// chosen and rejected samples; Gap is their difference, which sums
	// (with the constant's, zero) to the mean reward margin.
	Chosen   []float64 `json:"chosen"`
	Rejected []float64 `json:"rejected"`
	Gap      []float64 `json:"gap"`
	// Constant is the mean of r − Σ contributions (w·β + b with LayerNorm).
	Constant float64 `json:"constant"`
	// Margin is the mean reward margin r_chosen − r_rejected.
	Margin float64 `json:"margin"`
	// Patched names the patched activations (blocks.L.hook_attn_out,
	// blocks.L.hook_mlp_out); Recovered is, for each, the mean reward change
	// of the rejected sample patched with the chosen one's activation at
	// every position, over the mean margin.
	Patched   []string  `json:"patched"`
	Recovered []float64 `json:"recovered"`
	// N is the number of comparisons (patching uses those whose samples
	// have one length: NPatched).
	N        int `json:"n"`
	NPatched int `json:"n_patched"`
}

// Attribute decomposes pm's rewards on cs.
func Attribute(pm *PrefModel, cs []Comparison) (*Attribution, error) {
	if len(cs) == 0 {
		return nil, errors.New("lab: attribution needs comparisons")
	}
	a := &Attribution{N: len(cs)}
	for i, c := range cs {
		rc, ch, err := pm.decompose(c.Chosen)
		if err != nil {
			return nil, err
		}
		rr, rj, err := pm.decompose(c.Rejected)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			for _, p := range ch {
				a.Components = append(a.Components, p.name)
			}
			a.Chosen = make([]float64, len(ch))
			a.Rejected = make([]float64, len(ch))
			a.Gap = make([]float64, len(ch))
		}
		sc, sr := 0.0, 0.0
		for k := range ch {
			a.Chosen[k] += ch[k].value / float64(len(cs))
			a.Rejected[k] += rj[k].value / float64(len(cs))
			sc += ch[k].value
			sr += rj[k].value
		}
		a.Constant += (rc - sc + rr - sr) / 2 / float64(len(cs))
		a.Margin += (rc - rr) / float64(len(cs))
	}
	for k := range a.Gap {
		a.Gap[k] = a.Chosen[k] - a.Rejected[k]
	}
	return a, pm.patchLayers(cs, a)
}

type part struct {
	name  string
	value float64
}

// decompose returns the reward of one sequence and each component's
// contribution to it.
func (pm *PrefModel) decompose(seq []int) (float64, []part, error) {
	m := pm.Model
	c := m.Config
	T, C, L := len(seq), c.DModel, c.NLayers
	last := T - 1
	acts := map[string][]float32{}
	var resid []float32
	var scale float32 = 1
	names := map[string]bool{"hook_embed": true, "hook_pos_embed": true, "ln_final.hook_scale": true,
		models.ActName("resid_post", L-1): true}
	for l := 0; l < L; l++ {
		names[models.ActName("result", l)] = true
		names[models.ActName("attn_out", l)] = true
		names[models.ActName("mlp_out", l)] = true
	}
	hook := func(name string, t *tensor.Tensor) (*tensor.Tensor, error) {
		if !names[name] {
			return nil, nil
		}
		switch {
		case name == "ln_final.hook_scale":
			scale = t.Data[last]
		case len(t.Shape) == 4: // hook_result [1,T,H,C]
			H := t.Shape[2]
			acts[name] = append([]float32(nil), t.Data[last*H*C:(last+1)*H*C]...)
		default:
			acts[name] = append([]float32(nil), t.Data[last*C:(last+1)*C]...)
		}
		if name == models.ActName("resid_post", L-1) {
			resid = acts[name]
		}
		return nil, nil
	}
	p, err := m.Forward(seq, 1, T, nil, &models.Options{Hook: hook, AttnResult: true, NoGrad: true})
	if err != nil {
		return 0, nil, err
	}
	r := pm.rewards(p, batch{B: 1, T: T, last: []int{last}})[0]
	p.Release()

	w := pm.Head[:C]
	gain := make([]float64, C) // γ⊙w/s
	var gw []float32
	if m.Params.Has("ln_f.weight") && c.Normalization != models.NormNone {
		gw = m.Params.Get("ln_f.weight").Data
	}
	for j := range gain {
		g := float64(w[j])
		if gw != nil {
			g *= float64(gw[j])
		}
		gain[j] = g / float64(scale)
	}
	centre := c.Normalization == models.NormLN
	contrib := func(v []float32) float64 {
		mean := 0.0
		if centre {
			for _, x := range v {
				mean += float64(x)
			}
			mean /= float64(len(v))
		}
		s := 0.0
		for j, x := range v {
			s += gain[j] * (float64(x) - mean)
		}
		return s
	}
	var parts []part
	sum := make([]float64, C) // the components' sum, checked against resid_post
	add := func(name string, v []float32) {
		parts = append(parts, part{name, contrib(v)})
		for j, x := range v {
			sum[j] += float64(x)
		}
	}
	add("embed", acts["hook_embed"])
	if v, ok := acts["hook_pos_embed"]; ok && c.Positional != models.PosShortformer {
		add("pos_embed", v)
	}
	for l := 0; l < L; l++ {
		res, out := acts[models.ActName("result", l)], acts[models.ActName("attn_out", l)]
		if res == nil || out == nil {
			return 0, nil, fmt.Errorf("lab: attribution: block %d fired no hook_result/hook_attn_out", l)
		}
		H := len(res) / C
		bias := append([]float32(nil), out...)
		for h := 0; h < H; h++ {
			head := res[h*C : (h+1)*C]
			add(models.Head{Layer: l, Head: h}.String(), head)
			for j := range bias {
				bias[j] -= head[j]
			}
		}
		add(fmt.Sprintf("L%d attn bias", l), bias)
		if v, ok := acts[models.ActName("mlp_out", l)]; ok {
			add(fmt.Sprintf("L%d mlp", l), v)
		}
	}
	for j := range sum {
		if d := math.Abs(sum[j] - float64(resid[j])); d > 1e-3*(1+math.Abs(float64(resid[j]))) {
			return 0, nil, fmt.Errorf("lab: attribution: the components do not sum to the final residual stream (off by %g): this architecture is not supported", d)
		}
	}
	return r, parts, nil
}

// patchLayers fills a.Patched and a.Recovered.
func (pm *PrefModel) patchLayers(cs []Comparison, a *Attribution) error {
	L := pm.Model.Config.NLayers
	for l := 0; l < L; l++ {
		a.Patched = append(a.Patched, models.ActName("attn_out", l))
		if !pm.Model.Config.AttnOnly {
			a.Patched = append(a.Patched, models.ActName("mlp_out", l))
		}
	}
	a.Recovered = make([]float64, len(a.Patched))
	margin := 0.0
	for _, c := range cs {
		if len(c.Chosen) != len(c.Rejected) {
			continue
		}
		a.NPatched++
		cache := map[string][]float32{}
		keep := func(name string, t *tensor.Tensor) (*tensor.Tensor, error) {
			for _, n := range a.Patched {
				if n == name {
					cache[name] = append([]float32(nil), t.Data...)
				}
			}
			return nil, nil
		}
		rc, err := pm.Rewards([][]int{c.Chosen}, 1, &models.Options{Hook: keep})
		if err != nil {
			return err
		}
		rr, err := pm.Rewards([][]int{c.Rejected}, 1, nil)
		if err != nil {
			return err
		}
		margin += rc[0] - rr[0]
		for k, name := range a.Patched {
			src := cache[name]
			patch := func(n string, t *tensor.Tensor) (*tensor.Tensor, error) {
				if n == name {
					copy(t.Data, src)
				}
				return nil, nil
			}
			rp, err := pm.Rewards([][]int{c.Rejected}, 1, &models.Options{Hook: patch})
			if err != nil {
				return err
			}
			a.Recovered[k] += rp[0] - rr[0]
		}
	}
	for k := range a.Recovered {
		a.Recovered[k] /= margin // NaN without comparisons of one length
	}
	return nil
}

// RunAttribute loads a preference model (PrefModel.Save's directory) and
// attributes its rewards on n held-out comparisons of the synthetic task.
func RunAttribute(pmDir string, task SyntheticConfig, n int) (*Attribution, error) {
	pm, err := LoadPrefModel(pmDir)
	if err != nil {
		return nil, err
	}
	task = task.WithDefaults()
	if err := task.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("lab: attribution over %d comparisons", n)
	}
	// Two sequences a comparison, and a forward pass of each kept for the
	// gradients.
	if err := memory.Check(float64(n) * (2*float64(task.SeqLen())*8 + 2*pm.Model.Config.ForwardBytes(1, task.SeqLen()))); err != nil {
		return nil, fmt.Errorf("lab: attribution over %d comparisons %w", n, err)
	}
	return Attribute(pm, task.Comparisons(SetEval, n))
}
