package report

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/viz"
)

// PatchInput is what Patch draws: the activation-patching result, the
// attribution-patching estimate of the same cells, the direct logit
// attribution of the clean run, and labels for the tokens.
type PatchInput struct {
	Model       string
	Activation  *circuits.PatchResult
	Attribution *circuits.PatchResult // optional
	DLA         *circuits.DLA         // optional
	// Clean and Corrupted label each position's token (e.g. its text); nil
	// uses the ids.
	Clean, Corrupted []string
	Answer, Wrong    string // labels of the answer and wrong tokens
}

// Patch builds the page of `mechinterp patch`: heatmaps of activation
// patching (residual stream by layer x position, attention and MLP outputs,
// heads [layer x head], heads by position), attribution against activation
// patching as a scatter, and the direct logit attribution as bars. Effects
// are normalised: 1 restores the clean logit difference, 0 leaves the
// corrupted one. Everything is embedded as JSON (mechinterp.data("patch")).
func Patch(in PatchInput) (*viz.Report, error) {
	a := in.Activation
	if a == nil || len(a.Clean) == 0 {
		return nil, errors.New("patch report: no activation-patching result")
	}
	T := len(a.Clean)
	tok := func(labels []string, ids []int, p int) string {
		if p < len(labels) {
			return labels[p]
		}
		return fmt.Sprint(ids[p])
	}
	pos := make([]string, T)
	for p := range pos {
		c, x := tok(in.Clean, a.Clean, p), tok(in.Corrupted, a.Corrupted, p)
		if c == x {
			pos[p] = fmt.Sprintf("%d %s", p, c)
		} else {
			pos[p] = fmt.Sprintf("%d %s/%s", p, c, x)
		}
	}
	answer, wrong := orDefault(in.Answer, fmt.Sprint(a.Answer)), orDefault(in.Wrong, fmt.Sprint(a.Wrong))
	r := viz.NewReport("Activation patching: " + in.Model)
	r.Section("", fmt.Sprintf("Metric: logit(%s) - logit(%s) at the last position. Clean run: %.4f; corrupted run: %.4f. "+
		"Each cell runs the corrupted prompt with one component's activation taken from the clean run, normalised so that 1 restores the clean "+
		"logit difference and 0 changes nothing (Meng et al. 2022; Wang et al. 2022). Position labels read 'position clean/corrupted token' where the prompts differ.",
		answer, wrong, a.CleanDiff, a.CorruptedDiff))
	const caption = "Red: patching restores the clean answer (1 = fully); blue: it pushes further toward the corrupted one; white: no effect."
	height := func(rows int) viz.Option { return viz.Height(min(4000, max(260, 90+26*rows))) }
	// One colour scale for every heatmap, so that equal colours are equal effects across them.
	scale := viz.ColorRange(-patchScale(a), patchScale(a))
	if a.Resid != nil {
		r.Add(viz.Heatmap(viz.Spec{Title: "Residual stream", X: "position", Y: "hook point", Caption: "hook_resid_pre of each layer and the final residual stream, patched at one position. " + caption},
			pos, a.ResidLabels, a.Resid, viz.Diverging(), scale, height(len(a.Resid))))
	}
	layerLabels := func(n int, prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	if a.AttnOut != nil {
		r.Add(viz.Heatmap(viz.Spec{Title: "Attention output", X: "position", Y: "layer", Caption: "hook_attn_out patched at one position. " + caption},
			pos, layerLabels(len(a.AttnOut), "attn_out "), a.AttnOut, viz.Diverging(), scale, height(len(a.AttnOut))))
	}
	if a.MLPOut != nil {
		r.Add(viz.Heatmap(viz.Spec{Title: "MLP output", X: "position", Y: "layer", Caption: "hook_mlp_out patched at one position. " + caption},
			pos, layerLabels(len(a.MLPOut), "mlp_out "), a.MLPOut, viz.Diverging(), scale, height(len(a.MLPOut))))
	}
	if a.Heads != nil {
		r.Add(viz.Heatmap(viz.Spec{Title: "Heads (every position)", X: "head", Y: "layer", Caption: "Each head's output (hook_z) patched at every position at once. " + caption},
			layerLabels(len(a.Heads[0]), "H"), layerLabels(len(a.Heads), "L"), a.Heads, viz.Diverging(), scale, viz.ShowValuesFixed(3), height(len(a.Heads))))
	}
	if a.HeadPos != nil {
		var rows []string
		var z [][]float64
		for l, hs := range a.HeadPos {
			for h, row := range hs {
				rows = append(rows, circuits.Head{Layer: l, Head: h}.String())
				z = append(z, row)
			}
		}
		r.Add(viz.Heatmap(viz.Spec{Title: "Heads by position", X: "position", Y: "head", Caption: "Each head's output (hook_z) patched at one position. " + caption},
			pos, rows, z, viz.Diverging(), scale, height(len(rows))))
	}
	if b := in.Attribution; b != nil {
		r.Section("Attribution patching", "Attribution patching estimates every cell at once from one backward pass: (clean - corrupted activation) · gradient of the metric "+
			"at the corrupted run (Nanda 2023). Points on the diagonal are estimated exactly; it is exact wherever the metric is linear in the patched activation.")
		var series []viz.Series
		add := func(name string, x, y [][]float64, label func(i, j int) string) {
			if x == nil || y == nil {
				return
			}
			s := viz.Series{Name: name}
			for i := range x {
				for j := range x[i] {
					if i < len(y) && j < len(y[i]) {
						s.X, s.Y = append(s.X, x[i][j]), append(s.Y, y[i][j])
						s.Labels = append(s.Labels, label(i, j))
					}
				}
			}
			if len(s.X) > 0 {
				series = append(series, s)
			}
		}
		add("residual stream", a.Resid, b.Resid, func(i, j int) string { return a.ResidLabels[i] + " @" + pos[j] })
		add("attention output", a.AttnOut, b.AttnOut, func(i, j int) string { return fmt.Sprintf("attn_out %d @%s", i, pos[j]) })
		add("MLP output", a.MLPOut, b.MLPOut, func(i, j int) string { return fmt.Sprintf("mlp_out %d @%s", i, pos[j]) })
		add("heads", a.Heads, b.Heads, func(i, j int) string { return circuits.Head{Layer: i, Head: j}.String() })
		if a.HeadPos != nil && b.HeadPos != nil {
			for l := range a.HeadPos {
				add(fmt.Sprintf("layer %d heads by position", l), a.HeadPos[l], b.HeadPos[l], func(i, j int) string {
					return circuits.Head{Layer: l, Head: i}.String() + " @" + pos[j]
				})
			}
		}
		if len(series) > 0 {
			r.Add(viz.Scatter(viz.Spec{Title: "Attribution vs activation patching", X: "activation patching (normalised)", Y: "attribution patching (normalised)",
				Caption: "One point per patched cell; the closer to the diagonal y = x, the better the linear approximation."}, series, viz.EqualAxes()))
		}
	}
	if d := in.DLA; d != nil && len(d.Terms) > 0 {
		names, vals := make([]string, len(d.Terms)), make([]float64, len(d.Terms))
		for i, t := range d.Terms {
			names[i], vals[i] = t.Name, t.Value
		}
		r.Section("Direct logit attribution", fmt.Sprintf("The clean run's final residual stream at position %d split into what each component wrote, "+
			"each divided by ln_final's scale and projected on W_U[:,%s] - W_U[:,%s]. The terms sum to the clean logit difference, %.4f.", d.Pos, answer, wrong, d.LogitDiff))
		r.Add(viz.Bars(viz.Spec{Title: "Direct logit attribution (clean run)", X: "component", Y: "contribution to the logit difference",
			Caption: "Positive bars push toward the answer, negative toward the wrong token; only the direct path through the unembedding is counted."},
			names, []viz.Series{{Name: "direct effect", Y: vals}}, viz.HLine(0, "0")))
	}
	r.Data("patch", map[string]any{"activation": a, "attribution": in.Attribution, "dla": in.DLA, "positions": pos})
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("patch report: %w", err)
	}
	return r, nil
}

// patchScale is the largest effect of any activation-patching heatmap (1 when all are zero):
// the bound of the colour scale they share.
func patchScale(a *circuits.PatchResult) float64 {
	return maxAbs(append([][][]float64{a.Resid, a.AttnOut, a.MLPOut, a.Heads}, a.HeadPos...)...)
}
