package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz"
)

// Track builds the page of `mechinterp track`: each head's scores over the
// checkpoints (log step axis) with the loss bump marked, the training loss curve with the
// bump, induction loss and ICL score over steps, and the formation step of every head
// listed next to the bump. The whole result is embedded as JSON (mechinterp.data("track")).
// The returned report has no mistakes: any is returned as the error.
func Track(res *probes.TrackResult) (*viz.Report, error) {
	if res == nil || len(res.Records) == 0 {
		return nil, errors.New("track report: no checkpoints")
	}
	for _, rec := range res.Records {
		for _, z := range [][][]float64{rec.PrefixMatching, rec.PreviousToken, rec.DuplicateToken, rec.Induction, rec.Copying} {
			if !isGrid(z, res.Layers, res.Heads) {
				return nil, fmt.Errorf("track report: the scores of step %d are not %d layers × %d heads", rec.Step, res.Layers, res.Heads)
			}
		}
	}
	r := viz.NewReport("Training run: " + orDefault(res.Run, "run"))
	b := res.Bump
	bumpText := "No loss bump stands out of the training loss (no stretch of the smoothed curve rises above its convex hull by more than the noise)."
	if len(res.Loss.Steps) == 0 {
		bumpText = "The run has no training-loss log (metrics.jsonl), so no loss bump could be located."
	}
	if b.Found {
		bumpText = fmt.Sprintf("The loss bump: the smoothed training loss leaves its convex hull at step %d (loss %.3f), drops fastest at step %d and meets the hull again at step %d (loss %.3f); height %.3f above the hull.",
			b.Start, b.LossStart, b.Step, b.End, b.LossEnd, b.Height)
	}
	r.Section("", fmt.Sprintf("%d checkpoints from step %d to %d, %d layers × %d heads. Scores are those of `mechinterp heads` at each checkpoint; "+
		"an induction head forms when its prefix-matching score reaches %g and stays there (Olsson et al. 2022: at the loss bump). "+
		"Step axes are logarithmic, so step 0 is not drawn. %s Every number is embedded in this page as JSON (mechinterp.data(\"track\")) and in track.jsonl and track.csv.",
		len(res.Records), res.Records[0].Step, res.Records[len(res.Records)-1].Step, res.Layers, res.Heads, res.Threshold, bumpText))
	r.Section("Formation", formationText(res))

	marks := func(opts ...viz.Option) []viz.Option {
		if b.Found {
			opts = append(opts, viz.VLine(float64(b.Step), "loss bump"))
		}
		return opts
	}
	steps := make([]float64, len(res.Records))
	for i, rec := range res.Records {
		steps[i] = float64(rec.Step)
	}
	perHead := func(get func(probes.TrackRecord) [][]float64) []viz.Series {
		var out []viz.Series
		for l := range res.Layers {
			for h := range res.Heads {
				y := make([]float64, len(res.Records))
				for i, rec := range res.Records {
					y[i] = get(rec)[l][h]
				}
				out = append(out, viz.Series{Name: models.Head{Layer: l, Head: h}.String(), X: steps, Y: y})
			}
		}
		return out
	}
	r.Section("Head scores over training", "One line per head (legend: layer and head).")
	r.Add(
		viz.Lines(viz.Spec{Title: "Prefix matching", X: "step", Y: "prefix-matching score",
			Caption: "Induction heads jump toward 1 at the loss bump (dashed vertical line); the horizontal line is the formation threshold."},
			perHead(func(t probes.TrackRecord) [][]float64 { return t.PrefixMatching }), marks(viz.LogX(), viz.HLine(res.Threshold, "threshold"))...),
		viz.Lines(viz.Spec{Title: "Previous-token detector", X: "step", Y: "score",
			Caption: "Previous-token heads in an earlier layer are what induction heads compose with (K-composition)."},
			perHead(func(t probes.TrackRecord) [][]float64 { return t.PreviousToken }), marks(viz.LogX())...),
		viz.Lines(viz.Spec{Title: "Copying", X: "step", Y: "copying score",
			Caption: "Share of the raised logits that falls on the attended token."},
			perHead(func(t probes.TrackRecord) [][]float64 { return t.Copying }), marks(viz.LogX())...),
		viz.Lines(viz.Spec{Title: "Induction detector", X: "step", Y: "score",
			Caption: "TransformerLens's induction detector over the whole prompt (the first copy dilutes it; prefix matching does not)."},
			perHead(func(t probes.TrackRecord) [][]float64 { return t.Induction }), marks(viz.LogX())...),
		viz.Lines(viz.Spec{Title: "Duplicate-token detector", X: "step", Y: "score",
			Caption: "Attention to earlier occurrences of the same token."},
			perHead(func(t probes.TrackRecord) [][]float64 { return t.DuplicateToken }), marks(viz.LogX())...),
	)

	r.Section("Loss", "")
	if len(res.Loss.Steps) > 0 {
		sx, sy := curve(res.Loss.Steps, res.Loss.Smooth)
		rx, ry := curve(res.Loss.Steps, res.Loss.Loss)
		series := []viz.Series{{Name: "training loss (smoothed)", X: sx, Y: sy}, {Name: "training loss", X: rx, Y: ry}}
		if len(res.Loss.EvalSteps) > 0 {
			ex, ey := curve(res.Loss.EvalSteps, res.Loss.Eval)
			series = append(series, viz.Series{Name: "held-out loss", X: ex, Y: ey})
		}
		r.Add(viz.Lines(viz.Spec{Title: "Training loss", X: "step", Y: "loss (nats)",
			Caption: "The bump is the one stretch where the smoothed loss lies above its convex hull: a plateau, then a steeper drop."},
			series, marks(viz.LogX())...))
	}
	il, icl := make([]float64, len(res.Records)), make([]float64, len(res.Records))
	for i, rec := range res.Records {
		il[i], icl[i] = rec.InductionLoss, rec.ICL.Score
	}
	first := res.Records[0].ICL
	r.Add(viz.Lines(viz.Spec{Title: "Induction loss and ICL score", X: "step", Y: "induction loss (nats)",
		Caption: fmt.Sprintf("Induction loss: loss on the repeated half of [BOS] + r + r. ICL score (right axis): loss at token %d minus loss at token %d; it falls when in-context learning appears.", first.Late, first.Early)},
		[]viz.Series{{Name: "induction loss", X: steps, Y: il}, {Name: "ICL score", X: steps, Y: icl, RightAxis: true}},
		marks(viz.LogX(), viz.YRight("ICL score (nats)"))...))
	r.Data("track", res)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("track report: %w", err)
	}
	return r, nil
}

// formationText lists each head's formation step beside the bump.
func formationText(res *probes.TrackResult) string {
	var lines []string
	for _, f := range res.Formation {
		name := models.Head{Layer: f.Layer, Head: f.Head}.String()
		switch {
		case !f.Formed:
			lines = append(lines, fmt.Sprintf("%s: no induction head (prefix matching %.3f at the end, at most %.3f).", name, f.Final, f.Max))
		case res.Bump.Found:
			lines = append(lines, fmt.Sprintf("%s: induction head from step %d (%+d steps from the bump at %d); prefix matching %.3f at the end.",
				name, f.Step, f.Step-res.Bump.Step, res.Bump.Step, f.Final))
		default:
			lines = append(lines, fmt.Sprintf("%s: induction head from step %d; prefix matching %.3f at the end.", name, f.Step, f.Final))
		}
	}
	if len(lines) == 0 {
		return "No heads."
	}
	return strings.Join(lines, "\n\n")
}
