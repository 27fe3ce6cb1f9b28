package report

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/viz"
)

// PrefsStudy builds the page of a preference-model study (`mechinterp prefs
// study`): held-out accuracy against model size for each objective (Askell et
// al. 2021, figure 5's comparison) and against the number of finetuning
// comparisons with and without preference-model pre-training (figure 7's),
// and whether ranked preference modelling wins here, said in words.
func PrefsStudy(cfg lab.StudyConfig, rows []lab.StudyRow) (*viz.Report, error) {
	if len(rows) == 0 {
		return nil, errors.New("prefs study report: no finished cells")
	}
	r := viz.NewReport("Preference-model study")
	r.Section("", fmt.Sprintf("The synthetic preference task (vocab %d, %d tokens, beta %g, seed %d); 2-layer models; %d held-out comparisons; batch %d, peak learning rate %g. "+
		"Size sweep: %d comparisons, %d steps per cell. Finetuning sweep: d_model %d, %d steps, from scratch or after pre-training for %d steps on %d comparisons of a broad task (the same sequences with the token classes relabelled). "+
		"Accuracy is the share of held-out comparisons ranked right (imitation ranks by log-likelihood). %d of %d cells are finished.",
		cfg.Task.Vocab, cfg.Task.Len, cfg.Task.Beta, cfg.Task.Seed, cfg.EvalComparisons, cfg.Batch, cfg.LR, cfg.Comparisons, cfg.Steps,
		cfg.FinetuneSize, cfg.FinetuneSteps, cfg.PretrainSteps, cfg.PretrainComparisons, len(rows), len(cfg.Cells())))
	r.Section("Objectives against model size", verdict(rows, cfg.EvalComparisons))
	var bySize []viz.Series
	for _, o := range cfg.Objectives {
		s := viz.Series{Name: string(o)}
		for _, row := range sortedRows(rows, func(c lab.Cell) bool { return c.Sweep == "size" && c.Objective == o }) {
			s.X, s.Y = append(s.X, float64(row.Params)), append(s.Y, row.Final.Accuracy)
			s.Labels = append(s.Labels, fmt.Sprintf("d_model %d", row.DModel))
		}
		if len(s.X) > 0 {
			bySize = append(bySize, s)
		}
	}
	if len(bySize) > 0 {
		r.Add(viz.Lines(viz.Spec{Title: "Held-out accuracy against parameters", X: "parameters", Y: "pairwise accuracy",
			Caption: "One line per objective; the hover names each model's width."}, bySize, viz.LogX(), viz.HLine(ceiling(rows), "the true reward's accuracy")))
	}
	var byN []viz.Series
	for _, pmp := range []bool{false, true} {
		name := "from scratch"
		if pmp {
			name = "after pre-training (PMP)"
		}
		s := viz.Series{Name: name}
		for _, row := range sortedRows(rows, func(c lab.Cell) bool { return c.Sweep == "finetune" && c.Pretrained == pmp }) {
			s.X, s.Y = append(s.X, float64(row.Comparisons)), append(s.Y, row.Final.Accuracy)
		}
		if len(s.X) > 0 {
			byN = append(byN, s)
		}
	}
	if len(byN) > 0 {
		r.Section("Finetuning comparisons, with and without pre-training", "")
		r.Add(viz.Lines(viz.Spec{Title: "Held-out accuracy against finetuning comparisons", X: "target comparisons", Y: "pairwise accuracy",
			Caption: "Ranked preference modelling at one size, from scratch or from the model pre-trained on the broad task."}, byN, viz.LogX(), viz.HLine(ceiling(rows), "the true reward's accuracy")))
	}
	r.Raw(studyTable(rows))
	r.Data("results", map[string]any{"config": cfg, "rows": rows})
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func ceiling(rows []lab.StudyRow) float64 { return rows[0].Final.AccuracyMax }

func sortedRows(rows []lab.StudyRow, keep func(lab.Cell) bool) []lab.StudyRow {
	var out []lab.StudyRow
	for _, r := range rows {
		if keep(r.Cell) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].DModel != out[b].DModel {
			return out[a].DModel < out[b].DModel
		}
		return out[a].Comparisons < out[b].Comparisons
	})
	return out
}

// verdict says, for each size, whether ranked preference beats the other
// objectives, and how the gap moves with size.
func verdict(rows []lab.StudyRow, n int) string {
	acc := map[int]map[lab.Objective]float64{}
	var sizes []int
	for _, r := range rows {
		if r.Sweep != "size" {
			continue
		}
		if acc[r.DModel] == nil {
			acc[r.DModel] = map[lab.Objective]float64{}
			sizes = append(sizes, r.DModel)
		}
		acc[r.DModel][r.Objective] = r.Final.Accuracy
	}
	sort.Ints(sizes)
	var parts []string
	var gaps []float64
	for _, d := range sizes {
		a := acc[d]
		p, ok := a[lab.Preference]
		if !ok {
			continue
		}
		best, bestName := -1.0, ""
		for _, o := range []lab.Objective{lab.Binary, lab.Imitation} {
			if v, ok := a[o]; ok && v > best {
				best, bestName = v, string(o)
			}
		}
		if bestName == "" {
			continue
		}
		word := "beats"
		switch se := accuracySE(p, n) + accuracySE(best, n); {
		case n > 0 && math.Abs(p-best) <= se:
			word = "ties, within the sum of their standard errors, with"
		case p <= best:
			word = "does not beat"
		}
		parts = append(parts, fmt.Sprintf("d_model %d: ranked preference (%.3f) %s the best other objective, %s (%.3f)", d, p, word, bestName, best))
		gaps = append(gaps, p-best)
	}
	if len(parts) == 0 {
		return "No size has both ranked preference and another objective finished yet."
	}
	s := strings.Join(parts, "; ") + "."
	if k := len(gaps); k >= 2 {
		trend := "grows"
		if gaps[k-1] < gaps[0] {
			trend = "shrinks"
		}
		s += fmt.Sprintf(" From the smallest to the largest model the gap %s (%+.3f to %+.3f). Askell et al. found ranked preference ahead, increasingly with size.", trend, gaps[0], gaps[k-1])
	}
	if n > 0 {
		s += fmt.Sprintf(" For scale: one accuracy measured on %d comparisons has a standard error of about %.3f.", n, accuracySE(rows[0].Final.Accuracy, n))
	}
	return s
}

// accuracySE is the binomial standard error of an accuracy a measured on n
// comparisons (0 when n is unknown).
func accuracySE(a float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return math.Sqrt(a * (1 - a) / float64(n))
}

func studyTable(rows []lab.StudyRow) template.HTML {
	var b strings.Builder
	b.WriteString(`<table class="mi-table"><thead><tr><th>sweep</th><th>d_model</th><th>objective</th><th>comparisons</th><th>PMP</th><th>parameters</th><th>accuracy</th><th>Spearman</th><th>ECE (truth)</th></tr></thead><tbody>`)
	for _, r := range rows {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%s</td><td>%d</td><td>%t</td><td>%d</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>",
			html.EscapeString(r.Sweep), r.DModel, html.EscapeString(string(r.Objective)), r.Comparisons, r.Pretrained, r.Params, r.Final.Accuracy, r.Final.Spearman, r.Final.ECETrue)
	}
	b.WriteString("</tbody></table>")
	return template.HTML(b.String())
}

// PrefsStudyText prints a study's rows as a table and the page written.
func PrefsStudyText(w io.Writer, rows []lab.StudyRow, evalN int, page string) {
	fmt.Fprintf(w, "%-40s %8s %9s %9s %9s\n", "cell", "params", "accuracy", "Spearman", "ECE true")
	for _, r := range rows {
		fmt.Fprintf(w, "%-40s %8d %9.3f %9.3f %9.3f\n", r.Key(), r.Params, r.Final.Accuracy, r.Final.Spearman, r.Final.ECETrue)
	}
	fmt.Fprintln(w, verdict(rows, evalN))
	if page != "" {
		fmt.Fprintf(w, "wrote %s\n", page)
	}
}
