package report

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz"
)

// The text readouts: what the commands print about an analysis, beside the page this package
// builds for it. page names the page written ("" for none), for a closing "report:" line.

// HeadsText prints one line per head (its five scores and role), the induction loss and the
// role thresholds (probes.Heads).
func HeadsText(w io.Writer, s *probes.HeadScores, page string) {
	o := s.Options.Repeat
	fmt.Fprintf(w, "%d layers × %d heads, measured on %d prompts [BOS] + r × %d, |r| = %d, tokens [%d, %d)\n",
		s.Layers, s.Heads, o.Batch, o.Repeats, o.Len, o.MinToken, o.MaxToken)
	fmt.Fprintf(w, "%-6s %8s %8s %8s %8s %8s  %s\n", "head", "prefix", "copying", "prev", "dup", "induct", "role")
	for l := range s.Layers {
		for h := range s.Heads {
			fmt.Fprintf(w, "L%dH%-3d %8.3f %8.3f %8.3f %8.3f %8.3f  %s\n", l, h,
				s.PrefixMatching[l][h], s.Copying[l][h], s.PreviousToken[l][h], s.DuplicateToken[l][h], s.Induction[l][h],
				strings.ReplaceAll(s.Roles[l][h], "_", " "))
		}
	}
	if il := s.InductionLoss; il != nil {
		fmt.Fprintf(w, "induction loss %.3f (first copy %.3f)\n", il.Loss, il.FirstCopy)
	}
	t := s.Options.Thresholds
	fmt.Fprintf(w, "roles: induction if prefix >= %g, else previous token if prev >= %g, duplicate token if dup >= %g, copying if copying >= %g\n",
		t.PrefixMatching, t.PreviousToken, t.DuplicateToken, t.Copying)
	reportLine(w, "", page)
}

// HeadsJSON is what `mechinterp heads --json` prints: s without the detector prompts (which
// can be long), with a non-finite induction loss written as 0.
func HeadsJSON(s *probes.HeadScores) *probes.HeadScores {
	c := *s
	c.Options.DetectTokens = nil
	if il := c.InductionLoss; il != nil {
		cl := *il
		for _, x := range []*float64{&cl.Loss, &cl.FirstCopy} {
			if *x != *x || *x > 1e308 || *x < -1e308 {
				*x = 0
			}
		}
		c.InductionLoss = &cl
	}
	return &c
}

// CircuitsText prints each head's OV and QK copying scores and norms, the random composition
// baseline, and the top composition pairs above its 95th percentile (circuits.Analyze) of the
// model in dir.
func CircuitsText(w io.Writer, a *circuits.Analysis, dir string, top int, page string) {
	c := a.Config
	fmt.Fprintf(w, "%s: %d layers x %d heads, d_model %d, d_head %d\n\n", dir, c.NLayers, c.NHeads, c.DModel, c.DHead)
	fmt.Fprintf(w, "%-8s %11s %11s %9s %9s\n", "head", "OV copying", "QK copying", "|OV|_F", "|QK|_F")
	score := func(v float64) string {
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%+.3f", v)
	}
	for _, h := range a.Heads {
		fmt.Fprintf(w, "%-8s %11s %11s %9.3f %9.3f\n", h.Head, score(h.OVCopying), score(h.QKCopying), h.OVNorm, h.QKNorm)
	}
	fmt.Fprintln(w)
	if c.NLayers < 2 {
		fmt.Fprintln(w, "one layer: no head can compose with another")
	} else {
		fmt.Fprintln(w, "random baseline (Gaussian matrices of the same shapes):")
		for _, s := range a.Composition {
			b := s.Baseline
			fmt.Fprintf(w, "  %s-composition: %.4f ± %.4f, 95th percentile %.4f (%d draws, seed %d)\n", s.Kind, b.Mean, b.Std, b.P95, b.Samples, b.Seed)
		}
		fmt.Fprintf(w, "\ntop composition pairs above the 95th percentile of the baseline, by z-score:\n")
		pairs := a.TopPairs(top)
		if len(pairs) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, p := range pairs {
			b := a.Scores(p.Kind).Baseline
			fmt.Fprintf(w, "  %s  %-6s -> %-6s  %.4f   baseline %.4f ± %.4f   z %.1f\n", p.Kind, p.Earlier, p.Later, p.Score, b.Mean, b.Std, p.Z)
		}
	}
	reportLine(w, "\n", page)
}

// TrackText prints what probes.Track found: the checkpoints probed, the loss bump, and when
// each induction head formed.
func TrackText(w io.Writer, res *probes.TrackResult, page string) {
	n := len(res.Records)
	fmt.Fprintf(w, "%d checkpoints (steps %d to %d): %d probed now, %d from %s\n",
		n, res.Records[0].Step, res.Records[n-1].Step, res.Computed, n-res.Computed, res.JSONL)
	b := res.Bump
	switch {
	case b.Found:
		fmt.Fprintf(w, "loss bump at step %d (non-convex from step %d to %d, loss %.3f -> %.3f)\n", b.Step, b.Start, b.End, b.LossStart, b.LossEnd)
	case len(res.Loss.Steps) == 0:
		fmt.Fprintln(w, "loss bump: no metrics.jsonl in the run")
	default:
		fmt.Fprintln(w, "loss bump: none found (the smoothed loss stays on its convex hull)")
	}
	fmt.Fprintf(w, "induction heads (prefix matching >= %g for good):\n", res.Threshold)
	formed := false
	for _, f := range res.Formation {
		if !f.Formed {
			continue
		}
		formed = true
		rel := ""
		if b.Found {
			rel = fmt.Sprintf(" (%+d steps from the bump)", f.Step-b.Step)
		}
		fmt.Fprintf(w, "  %s formed at step %d%s, prefix matching %.3f at the end\n", models.Head{Layer: f.Layer, Head: f.Head}, f.Step, rel, f.Final)
	}
	if !formed {
		best := res.Formation[0]
		for _, f := range res.Formation {
			if f.Max > best.Max {
				best = f
			}
		}
		fmt.Fprintf(w, "  none (highest prefix matching: %s, %.3f)\n", models.Head{Layer: best.Layer, Head: best.Head}, best.Max)
	}
	fmt.Fprintf(w, "table: %s, %s\nreport: %s\n", res.CSV, res.JSONL, page)
}

// PatchInputFor is the PatchInput of one circuits.PatchAll result on the model in dir, its
// tokens labelled with tok (nil: by their ids).
func PatchInputFor(dir string, s *circuits.PatchSuite, tok tokenizer.Tokenizer) PatchInput {
	in := PatchInput{Model: dir, Activation: s.Activation, Attribution: s.Attribution, DLA: s.DLA}
	if tok != nil {
		one := TokenLabel(tok)
		label := func(ids []int) []string {
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = one(id)
			}
			return out
		}
		in.Clean, in.Corrupted = label(s.Activation.Clean), label(s.Activation.Corrupted)
		in.Answer, in.Wrong = one(s.Activation.Answer), one(s.Activation.Wrong)
	}
	return in
}

// PatchText prints the clean and corrupted logit differences, the top heads and cells of
// activation patching beside attribution patching's estimates, and the largest terms of the
// direct logit attribution: top of each.
func PatchText(w io.Writer, in PatchInput, top int, page string) {
	a := in.Activation
	answer, wrong := orDefault(in.Answer, fmt.Sprint(a.Answer)), orDefault(in.Wrong, fmt.Sprint(a.Wrong))
	fmt.Fprintf(w, "metric: logit(%s) - logit(%s) at the last position (%d tokens)\n", answer, wrong, len(a.Clean))
	fmt.Fprintf(w, "clean     %+.4f\ncorrupted %+.4f\n\n", a.CleanDiff, a.CorruptedDiff)
	attr := map[string]float64{}
	for _, c := range in.Attribution.Components() {
		attr[c.Name] = c.Effect
	}
	fmt.Fprintln(w, "top heads by activation patching (1 = restores the clean run):")
	for _, c := range a.TopHeads(top) {
		fmt.Fprintf(w, "  %-8s %+.3f   attribution %+.3f\n", c.Name, c.Effect, attr[c.Name])
	}
	fmt.Fprintln(w, "\ntop cells of all experiments:")
	for i, c := range a.Components() {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %-22s %+.3f   attribution %+.3f\n", c.Name, c.Effect, attr[c.Name])
	}
	fmt.Fprintf(w, "\ndirect logit attribution of the clean run (terms sum to %+.4f):\n", in.DLA.LogitDiff)
	terms := append([]circuits.DLATerm(nil), in.DLA.Terms...)
	sort.SliceStable(terms, func(i, j int) bool { return math.Abs(terms[i].Value) > math.Abs(terms[j].Value) })
	for i, t := range terms {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %-12s %+.4f\n", t.Name, t.Value)
	}
	reportLine(w, "\n", page)
}

// reportLine closes a readout with the page written, after sep, unless there is none.
func reportLine(w io.Writer, sep, page string) {
	if page != "" {
		fmt.Fprintf(w, "%sreport: %s\n", sep, page)
	}
}

// WritePage builds a page and writes it to out; out "" writes nothing (and builds nothing),
// for commands whose page is optional.
func WritePage(out string, build func() (*viz.Report, error)) error {
	if out == "" {
		return nil
	}
	r, err := build()
	if err != nil {
		return err
	}
	return r.WriteFile(out)
}

// PatchProgress returns a circuits.PatchOptions.Progress that counts the forward passes on w
// in one line redrawn in place (every 16th pass, and the last).
func PatchProgress(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if done == total || done%16 == 0 {
			fmt.Fprintf(w, "\rpatch: %d/%d forward passes", done, total)
		}
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// TrackProgress returns a probes.TrackOptions.Progress that prints a line on w per
// checkpoint probed.
func TrackProgress(w io.Writer) func(done, total, step int) {
	return func(done, total, step int) { fmt.Fprintf(w, "track: probed step %d (%d/%d)\n", step, done, total) }
}

// TrainText prints what a training run did (trained, resumed, or found complete), its final
// losses, and where its config, metrics and checkpoints lie.
func TrainText(w io.Writer, res *train.Result) {
	switch {
	case res.ResumedFrom == res.Step:
		fmt.Fprintf(w, "nothing to do: the run is complete at step %d\n", res.Step)
	default:
		if res.ResumedFrom >= 0 {
			fmt.Fprintf(w, "resumed from step %d\n", res.ResumedFrom)
		}
		fmt.Fprintf(w, "trained to step %d (%d tokens) in %s; final loss %.4f", res.Step, res.Tokens, res.Elapsed.Round(1e7), res.Loss)
		if !math.IsNaN(res.EvalLoss) {
			fmt.Fprintf(w, ", held-out %.4f", res.EvalLoss)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "run directory: %s\n", res.Dir)
	fmt.Fprintf(w, "  config:      %s\n", filepath.Join(res.Dir, run.ConfigFile))
	fmt.Fprintf(w, "  metrics:     %s\n", filepath.Join(res.Dir, run.MetricsFile))
	fmt.Fprintf(w, "  checkpoints: %s (%d written)\n", filepath.Join(res.Dir, run.CheckpointsDir), len(res.Checkpoints))
}

// PredictionsText prints each sequence's top next-token predictions after its last position
// (models.TopPredictions) of sequences of T tokens, with the tokens' text when labelled.
func PredictionsText(w io.Writer, results [][]models.Prediction, T int, labelled bool) {
	for b, preds := range results {
		fmt.Fprintf(w, "sequence %d (%d tokens): top %d next-token predictions\n", b, T, len(preds))
		for i, p := range preds {
			label := ""
			if labelled {
				label = fmt.Sprintf("  %q", p.Text)
			}
			fmt.Fprintf(w, "%3d. token %-6d p=%.4f  logit=%8.4f%s\n", i+1, p.Token, p.Prob, p.Logit, label)
		}
	}
}

// TokenLabel returns a function naming token ids: their text, quoted, when tok is set, else
// the id.
func TokenLabel(tok tokenizer.Tokenizer) func(int) string {
	return func(id int) string {
		if tok == nil {
			return strconv.Itoa(id)
		}
		return strconv.Quote(tok.Decode([]int{id}))
	}
}

// LensText prints a logit or tuned lens (circuits.ApplyLens): the top token by layer and
// position, each named by label, and each layer's mean KL to the final distribution.
func LensText(w io.Writer, l *circuits.Lens, label func(int) string, page string) {
	fmt.Fprintf(w, "%s lens: top token by layer (rows) and position (columns)\n", l.Kind)
	fmt.Fprintf(w, "%-7s", "")
	for _, t := range l.Tokens {
		fmt.Fprintf(w, " %8.8s", label(t))
	}
	fmt.Fprintf(w, " %9s\n", "mean KL")
	for i, name := range l.Layers {
		fmt.Fprintf(w, "%-7s", name)
		for _, top := range l.Top[i] {
			fmt.Fprintf(w, " %8.8s", label(top[0].Token))
		}
		fmt.Fprintf(w, " %9.4f\n", l.MeanKL[i])
	}
	reportLine(w, "", page)
}

// DiscoveryText prints a circuit found by edge attribution patching (circuits.Discovery):
// the metric, the circuit's size and faithfulness, how each method's scores correlate with
// the true edge effects, the top edges and the faithfulness curve.
func DiscoveryText(w io.Writer, d *circuits.Discovery, top int, page string) {
	fmt.Fprintf(w, "%s (%s, %d pairs): clean %.4g, corrupted %.4g\n", d.Method, d.Metric, d.Pairs, d.Clean, d.Corrupted)
	fmt.Fprintf(w, "circuit (%s): %d of %d edges, faithfulness %.3f\n", d.Selection, d.CircuitEdges, len(d.Edges), d.Faithfulness)
	for _, ms := range d.Methods {
		if !math.IsNaN(float64(ms.Spearman)) {
			fmt.Fprintf(w, "%-6s vs true edge effects: Spearman %.3f, Pearson %.3f\n", ms.Method, ms.Spearman, ms.Pearson)
		}
	}
	fmt.Fprintf(w, "%-24s %10s %10s  %s\n", "edge", "score", "effect", "in circuit")
	for _, i := range d.TopEdges()[:min(top, len(d.Edges))] {
		e := d.Edges[i]
		in := ""
		if e.InCircuit {
			in = "yes"
		}
		fmt.Fprintf(w, "%-24s %10.4g %10.4g  %s\n", e.Name, e.Score, e.Effect, in)
	}
	fmt.Fprintln(w, "faithfulness by circuit size (edges after pruning):")
	for _, c := range d.Curve {
		fmt.Fprintf(w, "  %5d  %.3f\n", c.Edges, c.Faithfulness)
	}
	reportLine(w, "", page)
}
