package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/attention"
)

// DemoOptions configure Demo.
type DemoOptions struct {
	Steps    int       // training steps; 0: run.DemoSteps
	Progress io.Writer // progress bars and lines; nil: none
}

// DemoResult is what Demo produced; later analyses start from it.
type DemoResult struct {
	Dir         string
	Config      run.Config
	Train       *train.Result
	Checkpoints []train.Checkpoint
	Metrics     string
	// Heads are the final model's head scores (probes.HeadsOfCheckpoint), the numbers of the
	// heads page; Prefix is their last layer's prefix matching and BestHead its best head.
	Heads    *probes.HeadScores
	Prefix   []float64
	BestHead int
	// Track and Circuits are the results of the track and circuits pages, for the index's
	// headline.
	Track    *probes.TrackResult
	Circuits *circuits.Analysis
	// Index is RUN/index.html, linking the reports the demo wrote.
	Index string
}

// Demo is `mechinterp demo`: it trains run.DemoConfig into out (resuming an unfinished
// run, reporting a finished one) until induction heads form, measures the last layer's
// prefix matching, writes the pages of heads, track, circuits, attention and patch on what
// it trained under RUN/reports with the index RUN/index.html (RunIndex), and writes a
// summary to w: each page after the command that writes it by hand.
func Demo(ctx context.Context, out string, w io.Writer, o DemoOptions) (*DemoResult, error) {
	rc := run.DemoConfig()
	if o.Steps < 0 {
		return nil, fmt.Errorf("demo: steps must be positive (or 0 for the recipe's %d), got %d", run.DemoSteps, o.Steps)
	}
	if o.Steps > 0 {
		rc.Train.Steps = o.Steps
		rc.Train.Warmup = min(rc.Train.Warmup, o.Steps)
	}
	syn := rc.Data.Synthetic
	fmt.Fprintf(w, "mechinterp demo: a %d-layer attention-only transformer (%d heads, d_model %d) on the synthetic language (one span of %d-%d tokens repeated in each sequence), %d steps of batch %d\n",
		rc.Model.NLayers, rc.Model.NHeads, rc.Model.DModel, syn.MinSpan, syn.MaxSpan, rc.Train.Steps, rc.Train.BatchSize)
	res, err := run.Start(ctx, out, rc, run.Options{Resume: true, Progress: o.Progress})
	if errors.Is(err, train.ErrInterrupted) {
		return nil, fmt.Errorf("%w; run the demo again to continue", err)
	}
	if err != nil {
		return nil, config.OneLineErr(err)
	}
	r, err := run.Open(out)
	if err != nil {
		return nil, err
	}
	d := &DemoResult{Dir: out, Config: rc, Train: res, Metrics: filepath.Join(out, run.MetricsFile), Checkpoints: r.Checkpoints}
	final := d.Checkpoints[len(d.Checkpoints)-1]
	m, err := models.Load(final.Dir)
	if err != nil {
		return nil, err
	}
	if d.Heads, err = probes.HeadsOfCheckpoint(m, final.Dir); err != nil {
		return nil, err
	}
	d.Prefix = d.Heads.PrefixMatching[d.Heads.Layers-1]
	for h, s := range d.Prefix {
		if s > d.Prefix[d.BestHead] {
			d.BestHead = h
		}
	}
	demoText(w, d)
	if d.Index, err = demoPages(ctx, d, m, w, o.Progress); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nopen %s: it links every page above\n", d.Index)
	return d, nil
}

func demoText(w io.Writer, d *DemoResult) {
	ms, _ := train.ReadMetrics(d.Metrics)
	first, last := math.NaN(), math.NaN()
	for _, x := range ms {
		if x.EvalLoss != nil {
			if math.IsNaN(first) {
				first = *x.EvalLoss
			}
			last = *x.EvalLoss
		}
	}
	switch {
	case d.Train.ResumedFrom == d.Train.Step:
		fmt.Fprintf(w, "the demo run in %s is complete (step %d)\n", d.Dir, d.Train.Step)
	case d.Train.ResumedFrom >= 0:
		fmt.Fprintf(w, "resumed at step %d; trained to step %d in %s\n", d.Train.ResumedFrom, d.Train.Step, d.Train.Elapsed.Round(1e8))
	default:
		fmt.Fprintf(w, "trained %d steps in %s\n", d.Train.Step, d.Train.Elapsed.Round(1e8))
	}
	fmt.Fprintf(w, "held-out loss: %.3f at step 0 -> %.3f at step %d\n", first, last, d.Train.Step)
	ll, o := d.Heads.Layers-1, d.Heads.Options.Repeat
	fmt.Fprintf(w, "prefix matching of the layer-%d heads (%d prompts [BOS]+r+r, |r| = %d, as on the heads page):", ll, o.Batch, o.Len)
	for h, s := range d.Prefix {
		fmt.Fprintf(w, " %s %.3f", models.Head{Layer: ll, Head: h}, s)
	}
	th := d.Heads.Options.Thresholds.PrefixMatching
	verdict := "an induction head formed"
	if d.Prefix[d.BestHead] < th {
		verdict = fmt.Sprintf("no induction head yet (below %g)", th)
	}
	fmt.Fprintf(w, " -> %s: %s\n", models.Head{Layer: ll, Head: d.BestHead}, verdict)
	fmt.Fprintf(w, "\nrun directory: %s\n", d.Dir)
	fmt.Fprintf(w, "  config:      %s (rerun with: mechinterp train --config %s --out DIR)\n", filepath.Join(d.Dir, run.ConfigFile), filepath.Join(d.Dir, run.ConfigFile))
	fmt.Fprintf(w, "  metrics:     %s (one JSON object per step; eval_loss every %d steps)\n", d.Metrics, d.Config.Train.EvalEvery)
	fmt.Fprintf(w, "  checkpoints: %s (%d, at steps %s)\n", filepath.Join(d.Dir, run.CheckpointsDir), len(d.Checkpoints), stepList(d.Checkpoints))
	fmt.Fprintf(w, "  final model: %s (mechinterp run --model %s --tokens 0,5,6,7,5,6)\n", d.Checkpoints[len(d.Checkpoints)-1].Dir, d.Checkpoints[len(d.Checkpoints)-1].Dir)
}

// stepList abbreviates a list of checkpoint steps: the first dozen, then the
// last.
func stepList(cps []train.Checkpoint) string {
	var b strings.Builder
	for i, c := range cps {
		if i == 12 && len(cps) > 14 {
			fmt.Fprintf(&b, " ... %d", cps[len(cps)-1].Step)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, c.Step)
	}
	return b.String()
}

// demoPage is one page the demo writes about what it trained, with the command a user
// would run for it (printed, so it can be rerun by hand).
type demoPage struct {
	args  []string // the command, without -o
	show  bool     // print the page's readout in the demo's output
	write func(w io.Writer, out string) error
}

// demoPages writes the pages of heads, track, circuits, attention and patch on the demo run
// (m is its final model) under RUN/reports and links them from RUN/index.html (RunIndex),
// which it returns.
func demoPages(ctx context.Context, d *DemoResult, m *models.Model, w, progress io.Writer) (string, error) {
	final := d.Checkpoints[len(d.Checkpoints)-1].Dir
	clean, corrupted, answer, wrong := InductionPatchPrompt(d.Config.Data.Synthetic)
	// The attention page shows [BOS] r r with the first 12 tokens of r.
	repeat := append(append([]int{clean[0]}, clean[1:13]...), clean[1:13]...)
	errw := io.Discard
	if progress != nil {
		errw = progress
	}
	trackArgs := []string{"track", d.Dir}
	if progress == nil {
		trackArgs = append(trackArgs, "--quiet")
	}
	pages := []demoPage{
		{[]string{"heads", "--model", final}, true, func(w io.Writer, out string) error {
			s := d.Heads
			if err := WritePage(out, func() (*viz.Report, error) { return Heads(s, final) }); err != nil {
				return err
			}
			HeadsText(w, s, out)
			return nil
		}},
		{trackArgs, true, func(w io.Writer, out string) error {
			o := probes.TrackOptions{Threshold: 0.4, Heads: probes.HeadOptions{Repeat: probes.RepeatFor(&d.Config.Data, 0)}}
			if progress != nil {
				o.Progress = TrackProgress(progress)
			}
			res, err := probes.Track(ctx, d.Dir, o)
			if err != nil {
				return err
			}
			d.Track = res
			if err := WritePage(out, func() (*viz.Report, error) { return Track(res) }); err != nil {
				return err
			}
			TrackText(w, res, out)
			return nil
		}},
		{[]string{"circuits", "--model", final, "--top", "4"}, true, func(w io.Writer, out string) error {
			a, err := circuits.Analyze(m, 1)
			if err != nil {
				return err
			}
			d.Circuits = a
			if err := WritePage(out, func() (*viz.Report, error) { return Circuits(a, final) }); err != nil {
				return err
			}
			CircuitsText(w, a, final, 4, out)
			return nil
		}},
		{[]string{"attention", "--model", final, "--tokens", idList(repeat)}, false, func(w io.Writer, out string) error {
			a, err := AttentionData(ctx, m, final, repeat, nil, true, errw)
			if err != nil {
				return err
			}
			return WritePage(out, func() (*viz.Report, error) { return attention.Page(a, attention.Options{}) })
		}},
		{[]string{"patch", "--model", final, "--tokens-mode", "--clean", idList(clean), "--corrupted", idList(corrupted),
			"--answer", strconv.Itoa(answer), "--wrong", strconv.Itoa(wrong), "--top", "4"}, true, func(w io.Writer, out string) error {
			var po circuits.PatchOptions
			if progress != nil {
				po.Progress = PatchProgress(progress)
			}
			s, err := circuits.PatchAll(m, clean, corrupted, answer, wrong, po)
			if err != nil {
				return err
			}
			in := PatchInputFor(final, s, nil)
			if err := WritePage(out, func() (*viz.Report, error) { return Patch(in) }); err != nil {
				return err
			}
			PatchText(w, in, 4, out)
			return nil
		}},
	}
	for i, p := range pages {
		out := filepath.Join(d.Dir, run.ReportsDir, RunPages[i].File)
		var buf bytes.Buffer
		if err := p.write(&buf, out); err != nil {
			return "", fmt.Errorf("demo: mechinterp %s: %w", p.args[0], err)
		}
		fmt.Fprintf(w, "\n$ mechinterp %s -o %s\n", strings.Join(quoteArgs(p.args), " "), out)
		if p.show {
			w.Write(buf.Bytes())
		} else {
			fmt.Fprintf(w, "page: %s\n", out)
		}
	}
	page, err := RunIndex(d.Dir, Headline(d.Heads, d.Track, d.Circuits))
	if err != nil {
		return "", err
	}
	index := filepath.Join(d.Dir, run.IndexFile)
	return index, page.WriteFile(index)
}

// InductionPatchPrompt builds the demo's patching experiment (Olsson et al.
// 2022's induction task) on the synthetic language syn: clean = [BOS] r r[:k],
// whose next token is r[k] by induction; corrupted changes the earlier r[k] to
// a token x outside r, so that induction now points at x. The logit difference
// r[k] - x is positive on the clean prompt and negative on the corrupted one,
// and patching shows which heads carry it.
func InductionPatchPrompt(syn data.SyntheticConfig) (clean, corrupted []int, answer, wrong int) {
	const n, k = 16, 10
	rc := syn.EvalRepeated(n, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	perm := rng.Perm(rc.MaxToken - rc.MinToken)
	var r []int
	for _, p := range perm {
		t := rc.MinToken + p
		if t != rc.BOS {
			r = append(r, t)
		}
		if len(r) == n+1 {
			break
		}
	}
	x := r[n] // drawn with r, so outside it
	r = r[:n]
	clean = append(append([]int{rc.BOS}, r...), r[:k]...)
	corrupted = append([]int(nil), clean...)
	corrupted[1+k] = x
	return clean, corrupted, r[k], x
}

// AttentionData computes the attention explorer's data of m (loaded from dir) on one prompt,
// titled by dir; with roles, each head is labelled with its role and scores (AttentionRoles),
// and when they cannot be computed warn gets one line saying why and the page goes without.
func AttentionData(ctx context.Context, m *models.Model, dir string, ids []int, tok tokenizer.Tokenizer, roles bool, warn io.Writer) (*attention.Data, error) {
	a, err := attention.Compute(ctx, m, ids, tok)
	if err != nil {
		return nil, err
	}
	a.Title = attention.ModelTitle(dir)
	if roles {
		if a.Heads, err = AttentionRoles(m, dir); err != nil {
			// Roles are a label on the page, not the page: say why they are missing and go on.
			fmt.Fprintf(warn, "mechinterp attention: no head roles: %v\n", err)
		}
	}
	return a, nil
}

// idList writes token ids as --tokens reads them: comma-separated.
func idList(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// quoteArgs shell-quotes arguments that need it, for printing commands a
// user can paste.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$;&|<>()*?[]") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}
