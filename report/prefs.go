package report

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/viz"
)

// Prefs builds the page of one preference-model run (`mechinterp prefs
// train`): training and held-out curves of TRL's metrics, accuracy against
// the ceiling label noise sets, and the reliability diagrams (docs/alignment-lab.md).
func Prefs(res *lab.PrefsResult) (*viz.Report, error) {
	if res == nil || res.History == nil || len(res.History.Eval) == 0 {
		return nil, errors.New("prefs report: the result holds no evaluations")
	}
	h := res.History
	f := h.Final
	r := viz.NewReport("Preference model: " + string(h.Objective))
	r.Section("", fmt.Sprintf("Objective %s (Askell et al. 2021), %d parameters, %d steps at %d comparisons, peak learning rate %g. Data: %s. "+
		"Every number on this page is embedded as JSON (mechinterp.data(\"results\")) and in %s beside it.",
		h.Objective, res.Params, res.Config.Train.Steps, res.Config.Train.Batch, res.Config.Train.LR, res.Data, lab.ResultsFile))
	r.Raw(prefsTable(h))

	var ts, tl []float64
	stride := max(len(h.Train)/maxCurvePoints, 1)
	for i := 0; i < len(h.Train); i += stride {
		ts, tl = append(ts, float64(h.Train[i].Step)), append(tl, h.Train[i].Loss)
	}
	var es, el, acc, sp []float64
	for _, m := range h.Eval {
		es = append(es, float64(m.Step))
		el, acc, sp = append(el, m.Loss), append(acc, m.Accuracy), append(sp, m.Spearman)
	}
	r.Section("Training", "")
	r.Add(viz.Lines(viz.Spec{Title: "Loss", X: "step", Y: "loss",
		Caption: "The objective's loss on training batches and on the held-out comparisons."},
		[]viz.Series{{Name: "training batch", X: ts, Y: tl}, {Name: "held out", X: es, Y: el}}))
	accSeries := []viz.Series{{Name: "pairwise accuracy", X: es, Y: acc}}
	var accOpts []viz.Option
	if !math.IsNaN(f.AccuracyMax) {
		accSeries = append(accSeries, viz.Series{Name: "Spearman with the true reward", X: es, Y: sp})
		accOpts = append(accOpts, viz.HLine(f.AccuracyMax, "accuracy of the true reward"))
	}
	r.Add(viz.Lines(viz.Spec{Title: "Held-out accuracy", X: "step", Y: "accuracy / correlation",
		Caption: "Share of held-out comparisons ranked right; on the synthetic task, the Spearman correlation of the score with the true reward, and the accuracy the true reward itself reaches (the ceiling label noise sets)."},
		accSeries, accOpts...))

	r.Section("Calibration", "Each held-out comparison is turned towards the sample the model prefers: its predicted probability of winning is sigmoid(|score difference|) ∈ [0.5, 1] (Bai et al. 2022, figure 9). "+
		"Comparisons are binned by that prediction; a calibrated model's points lie on the diagonal. ECE = Σ (n_bin/N)·|observed − predicted|.")
	diag := viz.Series{Name: "perfect calibration", X: []float64{0.5, 1}, Y: []float64{0.5, 1}}
	series := []viz.Series{diag, reliabilitySeries("observed frequency (labels)", h.Reliability)}
	if h.ReliabilityTrue != nil {
		series = append(series, reliabilitySeries("true probability (synthetic task)", *h.ReliabilityTrue))
	}
	r.Add(viz.Lines(viz.Spec{Title: "Reliability diagram", X: "predicted probability that the favourite wins", Y: "observed frequency",
		Caption: fmt.Sprintf("ECE %.3f against the labels%s; the hover shows each bin's count (they add to %d). The y axis is a frequency's whole range, 0 to 1, on every model's page.", f.ECE, trueECE(f), h.Reliability.N)},
		series, viz.YRange(0, 1)))
	var cats []string
	var counts []float64
	for _, b := range h.Reliability.Bins {
		cats = append(cats, fmt.Sprintf("%.2f–%.2f", b.Lo, b.Hi))
		counts = append(counts, float64(b.Count))
	}
	r.Add(viz.Bars(viz.Spec{Title: "Comparisons per bin", X: "predicted probability", Y: "comparisons",
		Caption: "How many held-out comparisons fall in each bin of the reliability diagram."},
		cats, []viz.Series{{Name: "comparisons", Y: counts}}))
	r.Data("results", res)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func trueECE(m lab.Metrics) string {
	if math.IsNaN(m.ECETrue) {
		return ""
	}
	return fmt.Sprintf(" and %.3f against the true probabilities", m.ECETrue)
}

// reliabilitySeries is a reliability diagram's non-empty bins as a line.
func reliabilitySeries(name string, d lab.ReliabilityDiagram) viz.Series {
	s := viz.Series{Name: name}
	for _, b := range d.Bins {
		if b.Count == 0 {
			continue
		}
		s.X, s.Y = append(s.X, b.Predicted), append(s.Y, b.Observed)
		s.Labels = append(s.Labels, fmt.Sprintf("bin %.2f–%.2f: %d comparisons", b.Lo, b.Hi, b.Count))
	}
	return s
}

// prefsTable lists the final held-out metrics, TRL's names first.
func prefsTable(h *lab.History) template.HTML {
	f := h.Final
	rows := [][2]string{
		{"loss", g3(f.Loss)}, {"accuracy", g3(f.Accuracy)}, {"margin", g3(f.Margin)},
		{"rewards/chosen (mean ± std)", g3(f.ChosenMean) + " ± " + g3(f.ChosenStd)},
		{"rewards/rejected (mean ± std)", g3(f.RejectedMean) + " ± " + g3(f.RejectedStd)},
		{"ECE", g3(f.ECE)}, {"Brier score", g3(f.Brier)},
	}
	if !math.IsNaN(f.Spearman) {
		rows = append(rows, [][2]string{
			{"Spearman with the true reward", g3(f.Spearman)}, {"ECE against the true probabilities", g3(f.ECETrue)},
			{"mean |predicted − true probability|", g3(f.MAETrue)}, {"accuracy of the true reward (ceiling)", g3(f.AccuracyMax)},
		}...)
	}
	var b strings.Builder
	b.WriteString(`<table class="mi-table"><thead><tr><th>held-out metric (final)</th><th>value</th></tr></thead><tbody>`)
	for _, row := range rows {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td></tr>", html.EscapeString(row[0]), html.EscapeString(row[1]))
	}
	b.WriteString("</tbody></table>")
	return template.HTML(b.String())
}

// PrefsText prints a preference-model run's final held-out metrics and the
// page written (page "" for none).
func PrefsText(w io.Writer, res *lab.PrefsResult, page string) {
	f := res.History.Final
	fmt.Fprintf(w, "objective %s, %d parameters; %s\n", res.History.Objective, res.Params, res.Data)
	fmt.Fprintf(w, "held out: loss %.4f  accuracy %.3f  margin %.3f  ECE %.3f  Brier %.3f\n", f.Loss, f.Accuracy, f.Margin, f.ECE, f.Brier)
	if res.History.ReliabilityTrue != nil {
		fmt.Fprintf(w, "against the true reward: Spearman %.3f  ECE %.3f  (the true reward's own accuracy %.3f)\n", f.Spearman, f.ECETrue, f.AccuracyMax)
	}
	if page != "" {
		fmt.Fprintf(w, "wrote %s\n", page)
	}
}
