package report

import (
	"errors"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/viz"
)

// Attribution builds the page of a preference model's reward attribution
// (`mechinterp prefs attribute`): each component's share of the reward gap
// between chosen and rejected samples, and how much of the gap patching each
// layer's output from chosen into rejected recovers.
func Attribution(a *lab.Attribution, model string) (*viz.Report, error) {
	if a == nil || len(a.Components) == 0 {
		return nil, errors.New("attribution report: no components")
	}
	r := viz.NewReport("Reward attribution")
	r.Section("", fmt.Sprintf("Preference model %s on %d held-out comparisons of the synthetic task; mean reward margin %.3f. "+
		"The reward head reads the final LayerNorm's output, so with its scale frozen the reward is a sum over the components that write the residual stream (direct logit attribution's decomposition) plus a constant (%.3f).",
		model, a.N, a.Margin, a.Constant))
	r.Add(viz.Bars(viz.Spec{Title: "Reward gap by component", X: "component", Y: "mean contribution, chosen − rejected",
		Caption: "What each component adds to the chosen sample's reward beyond the rejected one's, averaged over comparisons; the bars sum to the mean margin."},
		a.Components, []viz.Series{{Name: "chosen − rejected", Y: a.Gap}}))
	r.Add(viz.Bars(viz.Spec{Title: "Reward contribution by component", X: "component", Y: "mean contribution",
		Caption: "Each component's mean contribution to the chosen and to the rejected samples' rewards."},
		a.Components, []viz.Series{{Name: "chosen", Y: a.Chosen}, {Name: "rejected", Y: a.Rejected}}))
	r.Add(viz.Bars(viz.Spec{Title: "Activation patching: chosen into rejected", X: "patched activation", Y: "share of the margin recovered",
		Caption: fmt.Sprintf("The rejected sample run with one activation replaced, at every position, by the chosen sample's: the mean reward change over the mean margin (1 = the whole preference; %d comparisons of equal length).", a.NPatched)},
		a.Patched, []viz.Series{{Name: "recovered", Y: a.Recovered}}))
	r.Data("results", a)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// AttributionText prints the components with the largest gaps and the
// patching results.
func AttributionText(w io.Writer, a *lab.Attribution, page string) {
	fmt.Fprintf(w, "mean margin %.4f over %d comparisons; constant %.4f\n", a.Margin, a.N, a.Constant)
	fmt.Fprintf(w, "%-16s %10s %10s %10s\n", "component", "chosen", "rejected", "gap")
	for k, c := range a.Components {
		fmt.Fprintf(w, "%-16s %10.4f %10.4f %10.4f\n", c, a.Chosen[k], a.Rejected[k], a.Gap[k])
	}
	for k, p := range a.Patched {
		fmt.Fprintf(w, "patch %-28s recovers %.3f of the margin\n", p, a.Recovered[k])
	}
	if page != "" {
		fmt.Fprintf(w, "wrote %s\n", page)
	}
}
