package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz"
)

// OOD builds the page of out-of-distribution detection on activations
// (`mechinterp ood`; Bai et al. 2022, section 5.4): AUROC and the FPR at
// 95% TPR by layer for each method, and the ROC curves at the best layer.
func OOD(res *probes.OODResult, model, data string) (*viz.Report, error) {
	if res == nil || len(res.Layers) == 0 || len(res.Layers[0].Scores) == 0 {
		return nil, errors.New("OOD report: no layers scored")
	}
	c := res.Config
	r := viz.NewReport("Out-of-distribution detection on activations")
	r.Section("", fmt.Sprintf("Model %s; %s. Activation blocks.L.hook_%s pooled by %s over positions; covariances shrunk by λ = %g towards a scaled identity. "+
		"Scores: the squared Mahalanobis distance to the in-distribution Gaussian; relative Mahalanobis (Ren et al. 2021), minus the distance to a background Gaussian; "+
		"simplified relative, minus the distance under the in-distribution Gaussian with its covariance's diagonal only; "+
		"outlier exposure (with labelled outliers), minus the distance to the outliers' mean under the in-distribution covariance. Out-of-distribution inputs are the positives.",
		model, data, c.Hook, c.Pool, c.Shrinkage))
	best, bestA := 0, -1.0
	for i, l := range res.Layers {
		for _, s := range l.Scores {
			if s.AUROC > bestA {
				best, bestA = i, s.AUROC
			}
		}
	}
	r.Section("What it found", oodFinding(res, best))
	var layers []string
	for _, l := range res.Layers {
		layers = append(layers, l.Name)
	}
	var auroc, fpr []viz.Series
	for k, s := range res.Layers[0].Scores {
		a, f := viz.Series{Name: string(s.Method)}, viz.Series{Name: string(s.Method)}
		for _, l := range res.Layers {
			a.Y, f.Y = append(a.Y, l.Scores[k].AUROC), append(f.Y, l.Scores[k].FPR)
		}
		auroc, fpr = append(auroc, a), append(fpr, f)
	}
	r.Add(viz.Bars(viz.Spec{Title: "AUROC by layer", X: "layer", Y: "AUROC",
		Caption: "Area under the ROC curve separating held-out out-of-distribution inputs from in-distribution ones (1 perfect, 0.5 chance; ties count half); the axis is its whole range, 0 to 1."},
		layers, auroc, viz.HLine(0.5, "chance"), viz.YRange(0, 1)))
	r.Add(viz.Bars(viz.Spec{Title: fmt.Sprintf("False-positive rate at %g%% true-positive rate", 100*c.TPR), X: "layer", Y: "FPR",
		Caption: "Share of in-distribution inputs flagged when the threshold flags this share of the out-of-distribution ones (lower is better); the axis is its whole range, 0 to 1."},
		layers, fpr, viz.YRange(0, 1)))
	var roc []viz.Series
	for _, s := range res.Layers[best].Scores {
		sr := viz.Series{Name: fmt.Sprintf("%s (AUROC %.3f)", s.Method, s.AUROC)}
		for _, p := range s.ROC {
			sr.X, sr.Y = append(sr.X, p.FPR), append(sr.Y, p.TPR)
		}
		roc = append(roc, sr)
	}
	roc = append(roc, viz.Series{Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}})
	r.Add(viz.Lines(viz.Spec{Title: "ROC curves at " + res.Layers[best].Name, X: "false-positive rate", Y: "true-positive rate",
		Caption: "At the layer with the best AUROC: each method's true-positive rate against its false-positive rate as the threshold falls."},
		roc))
	r.Data("results", res)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// OODText prints AUROC and FPR by layer and method, and the page written.
func OODText(w io.Writer, res *probes.OODResult, data, page string) {
	fmt.Fprintln(w, data)
	fmt.Fprintf(w, "%-28s", "layer")
	for _, s := range res.Layers[0].Scores {
		fmt.Fprintf(w, " %12s %8s", string(s.Method)+" AUROC", "FPR")
	}
	fmt.Fprintln(w)
	for _, l := range res.Layers {
		fmt.Fprintf(w, "%-28s", l.Name)
		for _, s := range l.Scores {
			fmt.Fprintf(w, " %12.3f %8.3f", s.AUROC, s.FPR)
		}
		fmt.Fprintln(w)
	}
	if page != "" {
		fmt.Fprintf(w, "wrote %s\n", page)
	}
}

// oodFinding says which method separates best (at layer best, the layer of the best AUROC), its
// FPR there, and which methods do worse than chance at that layer (a score whose sign is wrong
// for these data).
func oodFinding(res *probes.OODResult, best int) string {
	l := res.Layers[best]
	top := l.Scores[0]
	var below []string
	for _, s := range l.Scores {
		if s.AUROC > top.AUROC {
			top = s
		}
		if s.AUROC < 0.5 {
			below = append(below, fmt.Sprintf("%s (%.3f)", s.Method, s.AUROC))
		}
	}
	out := fmt.Sprintf("%s separates best, at %s: AUROC %.3f, flagging %.0f%% of in-distribution inputs to catch %g%% of the out-of-distribution ones.",
		top.Method, l.Name, top.AUROC, 100*top.FPR, 100*res.Config.TPR)
	if len(below) > 0 {
		out += " Below chance there: " + strings.Join(below, ", ") + ": these scores rank the out-of-distribution inputs as more typical than the in-distribution ones."
	}
	return out
}
