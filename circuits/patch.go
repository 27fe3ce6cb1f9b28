package circuits

import (
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// PatchMethod says how a PatchResult was computed.
type PatchMethod string

// The two ways of patching.
const (
	// Activation patching runs the corrupted prompt once per component with
	// that component's clean activation patched in.
	Activation PatchMethod = "activation"
	// Attribution patching approximates every patch at once to first order.
	Attribution PatchMethod = "attribution"
)

// PatchOptions choose which activation-patching experiments Patch runs; the
// zero value runs them all. Each experiment costs one forward pass per cell.
type PatchOptions struct {
	SkipResid   bool // residual stream by layer x position
	SkipBlocks  bool // attention and MLP outputs by layer x position
	SkipHeads   bool // each head's output at every position
	SkipHeadPos bool // each head at each position
	// Progress, if set, is called after every forward pass with the number
	// done and the total.
	Progress func(done, total int)
}

// PatchResult holds the normalised effect of patching each component, 1
// meaning the clean logit difference is fully restored and 0 meaning the
// corrupted one is unchanged. The metric is logits[last,answer] -
// logits[last,wrong] at the last position. Experiments not run are nil.
type PatchResult struct {
	Method    PatchMethod `json:"method"`
	Clean     []int       `json:"clean"`
	Corrupted []int       `json:"corrupted"`
	Answer    int         `json:"answer"`
	Wrong     int         `json:"wrong"`
	// CleanDiff and CorruptedDiff are the unpatched runs' logit differences.
	CleanDiff     float64 `json:"clean_diff"`
	CorruptedDiff float64 `json:"corrupted_diff"`
	// ResidLabels name Resid's rows: "resid_pre 0" ... "resid_pre L-1", then
	// "resid_post L-1" (the final residual stream).
	ResidLabels []string `json:"resid_labels,omitempty"`
	// Resid [L+1][T]: blocks.{l}.hook_resid_pre, then the last hook_resid_post,
	// patched at one position.
	Resid [][]float64 `json:"resid,omitempty"`
	// AttnOut and MLPOut [L][T]: hook_attn_out and hook_mlp_out at one
	// position (MLPOut is nil for attention-only models).
	AttnOut [][]float64 `json:"attn_out,omitempty"`
	MLPOut  [][]float64 `json:"mlp_out,omitempty"`
	// Heads [L][H]: a head's hook_z patched at every position.
	Heads [][]float64 `json:"heads,omitempty"`
	// HeadPos [L][H][T]: a head's hook_z patched at one position.
	HeadPos [][][]float64 `json:"head_pos,omitempty"`
}

// Normalize maps a logit difference onto the 0 (corrupted) .. 1 (clean) scale.
func (r *PatchResult) Normalize(diff float64) float64 {
	return (diff - r.CorruptedDiff) / (r.CleanDiff - r.CorruptedDiff)
}

// PatchComponent is one patched component and its normalised effect.
type PatchComponent struct {
	Name   string  `json:"name"` // "L1H3", "L1H3 @4", "resid_pre 1 @4", "attn_out 0 @2", "mlp_out 0 @2"
	Layer  int     `json:"layer"`
	Head   int     `json:"head"` // -1 when not a head
	Pos    int     `json:"pos"`  // -1 when patched at every position
	Effect float64 `json:"effect"`
}

// Components returns every patched cell as a list, largest |effect| first.
func (r *PatchResult) Components() []PatchComponent {
	var out []PatchComponent
	for l, row := range r.Heads {
		for h, v := range row {
			out = append(out, PatchComponent{Name: Head{Layer: l, Head: h}.String(), Layer: l, Head: h, Pos: -1, Effect: v})
		}
	}
	for l, hs := range r.HeadPos {
		for h, row := range hs {
			for p, v := range row {
				out = append(out, PatchComponent{Name: fmt.Sprintf("%s @%d", Head{Layer: l, Head: h}, p), Layer: l, Head: h, Pos: p, Effect: v})
			}
		}
	}
	for i, row := range r.Resid {
		for p, v := range row {
			out = append(out, PatchComponent{Name: fmt.Sprintf("%s @%d", r.ResidLabels[i], p), Layer: i, Head: -1, Pos: p, Effect: v})
		}
	}
	for _, blk := range []struct {
		name string
		g    [][]float64
	}{{"attn_out", r.AttnOut}, {"mlp_out", r.MLPOut}} {
		for l, row := range blk.g {
			for p, v := range row {
				out = append(out, PatchComponent{Name: fmt.Sprintf("%s %d @%d", blk.name, l, p), Layer: l, Head: -1, Pos: p, Effect: v})
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return math.Abs(out[a].Effect) > math.Abs(out[b].Effect) })
	return out
}

// TopHeads returns the n heads (patched at every position) with the largest |effect|.
func (r *PatchResult) TopHeads(n int) []PatchComponent {
	var out []PatchComponent
	for _, c := range r.Components() {
		if c.Head >= 0 && c.Pos < 0 && len(out) < n {
			out = append(out, c)
		}
	}
	return out
}

// checkPair validates a clean/corrupted pair and the answer tokens.
func checkPair(m *models.Model, clean, corrupted []int, answer, wrong int) error {
	if m == nil {
		return fmt.Errorf("circuits: nil model")
	}
	if len(clean) == 0 || len(corrupted) == 0 {
		return fmt.Errorf("circuits: the clean and corrupted prompts must not be empty")
	}
	if len(clean) != len(corrupted) {
		return fmt.Errorf("circuits: the clean prompt has %d tokens and the corrupted one %d; patching needs equal lengths", len(clean), len(corrupted))
	}
	if err := m.CheckTokens(clean, 1, len(clean)); err != nil {
		return fmt.Errorf("circuits: clean prompt: %w", err)
	}
	if err := m.CheckTokens(corrupted, 1, len(corrupted)); err != nil {
		return fmt.Errorf("circuits: corrupted prompt: %w", err)
	}
	return checkAnswer(m.Config, answer, wrong)
}

func residName(c models.Config, row int) string {
	if row < c.NLayers {
		return models.ActName("resid_pre", row)
	}
	return models.ActName("resid_post", c.NLayers-1)
}

func residLabels(c models.Config) []string {
	out := make([]string, c.NLayers+1)
	for i := range out {
		if i < c.NLayers {
			out[i] = fmt.Sprintf("resid_pre %d", i)
		} else {
			out[i] = fmt.Sprintf("resid_post %d", c.NLayers-1)
		}
	}
	return out
}

func grid(r, c int) [][]float64 {
	g := make([][]float64, r)
	for i := range g {
		g[i] = make([]float64, c)
	}
	return g
}

// patchNames returns the hook points a patching experiment reads.
func patchNames(c models.Config) []string {
	names := []string{"blocks.*.hook_resid_pre", residName(c, c.NLayers), "blocks.*.hook_attn_out", "blocks.*.attn.hook_z"}
	if !c.AttnOnly {
		names = append(names, "blocks.*.hook_mlp_out")
	}
	return names
}

// baseRuns runs the clean prompt (caching its activations) and the
// corrupted one, and fills the result's header.
func baseRuns(m *models.Model, clean, corrupted []int, answer, wrong int, method PatchMethod) (*PatchResult, *hooks.Cache, error) {
	if err := checkPair(m, clean, corrupted, answer, wrong); err != nil {
		return nil, nil, err
	}
	T := len(clean)
	cp, cache, err := hooks.RunWithCache(m, clean, 1, T, hooks.MustFilter(patchNames(m.Config)...))
	if err != nil {
		return nil, nil, fmt.Errorf("circuits: clean run: %w", err)
	}
	cr, err := hooks.RunWithHooks(m, corrupted, 1, T, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("circuits: corrupted run: %w", err)
	}
	r := &PatchResult{Method: method, Clean: append([]int(nil), clean...), Corrupted: append([]int(nil), corrupted...),
		Answer: answer, Wrong: wrong,
		CleanDiff: meanLogitDiff(cp.Logits, T-1, answer, wrong), CorruptedDiff: meanLogitDiff(cr.Logits, T-1, answer, wrong)}
	cr.Release()
	if math.IsNaN(r.CleanDiff) || math.IsNaN(r.CorruptedDiff) {
		return nil, nil, fmt.Errorf("circuits: the model's logits are NaN")
	}
	if r.CleanDiff == r.CorruptedDiff {
		return nil, nil, fmt.Errorf("circuits: the clean and corrupted logit differences are equal (%g), so there is nothing to restore; choose prompts or answers that the model tells apart", r.CleanDiff)
	}
	return r, cache, nil
}

// Patch runs activation patching (Meng et al. 2022; Wang et al. 2022): for
// each component, the corrupted prompt is run with that component's
// activation from the clean run, and the logit difference at the last
// position, logits[answer] - logits[wrong], is normalised so that 1 is the
// clean run's and 0 the corrupted run's. The components are the residual
// stream before every layer and after the last (by position), each layer's
// attention and MLP output (by position), each head's hook_z (at every
// position at once), and each head at each position. clean and corrupted are
// single prompts of equal length.
func Patch(m *models.Model, clean, corrupted []int, answer, wrong int, o PatchOptions) (*PatchResult, error) {
	r, cache, err := baseRuns(m, clean, corrupted, answer, wrong, Activation)
	if err != nil {
		return nil, err
	}
	c := m.Config
	L, H, T := c.NLayers, c.NHeads, len(clean)
	total := 0
	if !o.SkipResid {
		total += (L + 1) * T
	}
	if !o.SkipBlocks {
		total += L * T
		if !c.AttnOnly {
			total += L * T
		}
	}
	if !o.SkipHeads {
		total += L * H
	}
	if !o.SkipHeadPos {
		total += L * H * T
	}
	done := 0
	run := func(h hooks.Hook) (float64, error) {
		p, err := hooks.RunWithHooks(m, corrupted, 1, T, nil, h)
		if err != nil {
			return 0, fmt.Errorf("circuits: patched run: %w", err)
		}
		v := r.Normalize(meanLogitDiff(p.Logits, T-1, answer, wrong))
		p.Release()
		done++
		if o.Progress != nil {
			o.Progress(done, total)
		}
		return v, nil
	}
	if !o.SkipResid {
		r.ResidLabels, r.Resid = residLabels(c), grid(L+1, T)
		for i := range r.Resid {
			for p := 0; p < T; p++ {
				if r.Resid[i][p], err = run(hooks.PatchPosition(residName(c, i), p, cache)); err != nil {
					return nil, err
				}
			}
		}
	}
	if !o.SkipBlocks {
		r.AttnOut = grid(L, T)
		if !c.AttnOnly {
			r.MLPOut = grid(L, T)
		}
		for l := 0; l < L; l++ {
			for p := 0; p < T; p++ {
				if r.AttnOut[l][p], err = run(hooks.PatchPosition(models.ActName("attn_out", l), p, cache)); err != nil {
					return nil, err
				}
				if r.MLPOut != nil {
					if r.MLPOut[l][p], err = run(hooks.PatchPosition(models.ActName("mlp_out", l), p, cache)); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if !o.SkipHeads {
		r.Heads = grid(L, H)
		for l := 0; l < L; l++ {
			for h := 0; h < H; h++ {
				if r.Heads[l][h], err = run(hooks.PatchHead(l, h, -1, cache)); err != nil {
					return nil, err
				}
			}
		}
	}
	if !o.SkipHeadPos {
		r.HeadPos = make([][][]float64, L)
		for l := 0; l < L; l++ {
			r.HeadPos[l] = grid(H, T)
			for h := 0; h < H; h++ {
				for p := 0; p < T; p++ {
					if r.HeadPos[l][h][p], err = run(hooks.PatchHead(l, h, p, cache)); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return r, nil
}

// AttributionPatch approximates every cell of Patch at once (Nanda 2023,
// "Attribution Patching"; Syed et al. 2023): the change in the metric from
// patching activation x is estimated to first order as (x_clean - x_corrupted)
// · d metric / d x, with the gradient taken at the corrupted run, and
// normalised as Patch normalises. It costs two forward passes and one
// backward pass (hooks.Spec.Grads with DLogits = d metric / d logits). Where
// the metric is linear in the patched activation (the final residual stream
// of a model without LayerNorm, say) the estimate is exact.
func AttributionPatch(m *models.Model, clean, corrupted []int, answer, wrong int) (*PatchResult, error) {
	r, cleanCache, err := baseRuns(m, clean, corrupted, answer, wrong, Attribution)
	if err != nil {
		return nil, err
	}
	c := m.Config
	L, H, T, V := c.NLayers, c.NHeads, len(clean), c.DVocab
	names := hooks.MustFilter(patchNames(c)...)
	_, corr, err := hooks.Run(m, corrupted, 1, T, hooks.Spec{
		Cache: names,
		Grads: names,
		DLogits: func(p *models.Pass) (*tensor.Tensor, error) {
			// d(logits[T-1,answer] - logits[T-1,wrong]) / d logits.
			g := tensor.New(1, T, V)
			g.Data[(T-1)*V+answer], g.Data[(T-1)*V+wrong] = 1, -1
			return g, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("circuits: corrupted run with gradients: %w", err)
	}
	// attr returns, for hook name, the estimate at each position (and, for
	// hook_z, each head): sum over the inner dimension of
	// (clean - corrupted) * grad, over [T, groups, width].
	attr := func(name string, groups int) ([][]float64, error) {
		cl, err := cleanCache.Lookup(name)
		if err != nil {
			return nil, err
		}
		co, err := corr.Lookup(name)
		if err != nil {
			return nil, err
		}
		g, err := corr.Lookup(name + "_grad")
		if err != nil {
			return nil, err
		}
		width := cl.Len() / (T * groups)
		out := grid(groups, T)
		for p := 0; p < T; p++ {
			for k := 0; k < groups; k++ {
				off := (p*groups + k) * width
				var s float64
				for i := off; i < off+width; i++ {
					s += (float64(cl.Data[i]) - float64(co.Data[i])) * float64(g.Data[i])
				}
				out[k][p] = s / (r.CleanDiff - r.CorruptedDiff)
			}
		}
		return out, nil
	}
	r.ResidLabels, r.Resid = residLabels(c), make([][]float64, L+1)
	for i := range r.Resid {
		g, err := attr(residName(c, i), 1)
		if err != nil {
			return nil, fmt.Errorf("circuits: %w", err)
		}
		r.Resid[i] = g[0]
	}
	r.AttnOut = make([][]float64, L)
	if !c.AttnOnly {
		r.MLPOut = make([][]float64, L)
	}
	r.Heads, r.HeadPos = grid(L, H), make([][][]float64, L)
	for l := 0; l < L; l++ {
		g, err := attr(models.ActName("attn_out", l), 1)
		if err != nil {
			return nil, fmt.Errorf("circuits: %w", err)
		}
		r.AttnOut[l] = g[0]
		if !c.AttnOnly {
			if g, err = attr(models.ActName("mlp_out", l), 1); err != nil {
				return nil, fmt.Errorf("circuits: %w", err)
			}
			r.MLPOut[l] = g[0]
		}
		if r.HeadPos[l], err = attr(models.ActName("z", l), H); err != nil {
			return nil, fmt.Errorf("circuits: %w", err)
		}
		for h := 0; h < H; h++ {
			for _, v := range r.HeadPos[l][h] {
				r.Heads[l][h] += v // linear: the sum over positions
			}
		}
	}
	return r, nil
}
