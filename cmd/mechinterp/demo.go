package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Train a small model until induction heads form, and say where everything is",
		Long: `Train a 2-layer attention-only transformer on the built-in synthetic
language with in-context repeats until induction heads form: the loss bump
of Olsson et al. 2022, near step 1000. No downloads; under a minute on 2
cores. Checkpoints are dense early (log-spaced) and every 50 steps, so that
later commands can follow the heads forming. Then it runs heads, track,
circuits, attention and patch on what it trained, as a user would, and writes
DIR/index.html linking every report. Running it again continues an
interrupted demo, or reports a finished one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = runDemo(ctx, v.GetString("out"), cmd.OutOrStdout(), demoOptions{
				steps:    v.GetInt("steps"),
				progress: progressWriter(cmd.ErrOrStderr(), v.GetBool("quiet")),
			})
			return err
		},
	}
	f := cmd.Flags()
	f.String("out", "mechinterp-demo", "run directory")
	f.Bool("quiet", false, "no progress bar")
	f.Int("steps", 0, "training steps (0: the recipe's)")
	f.MarkHidden("steps")
	return cmd
}

type demoOptions struct {
	steps    int       // 0: run.DemoSteps
	progress io.Writer // nil: no progress bar
}

// demoResult is what the demo produced; later commands (probes, reports)
// start from it.
type demoResult struct {
	Dir         string
	Config      run.Config
	Train       *train.Result
	Checkpoints []train.Checkpoint
	Metrics     string
	// Prefix is the layer-1 prefix-matching score per head at the end, on
	// [BOS]+r+r with |r| = each of prefixLens (averaged over them).
	Prefix   []float64
	BestHead int
	// Index is RUN/index.html, linking the reports the demo wrote.
	Index string
}

// prefixLens are the lengths of r at which the demo measures prefix
// matching: one inside the trained span lengths (10-29) and one outside.
var prefixLens = []int{25, 31}

// runDemo trains the demo model into out (resuming an unfinished run) and
// writes a summary to w.
func runDemo(ctx context.Context, out string, w io.Writer, o demoOptions) (*demoResult, error) {
	rc := run.DemoConfig()
	if o.steps > 0 {
		rc.Train.Steps = o.steps
		rc.Train.Warmup = min(rc.Train.Warmup, o.steps)
	}
	syn := rc.Data.Synthetic
	fmt.Fprintf(w, "mechinterp demo: a %d-layer attention-only transformer (%d heads, d_model %d) on the synthetic language (one span of %d-%d tokens repeated in each sequence), %d steps of batch %d\n",
		rc.Model.NLayers, rc.Model.NHeads, rc.Model.DModel, syn.MinSpan, syn.MaxSpan, rc.Train.Steps, rc.Train.BatchSize)
	res, err := run.Start(ctx, out, rc, run.Options{Resume: true, Progress: o.progress})
	if errors.Is(err, train.ErrInterrupted) {
		return nil, fmt.Errorf("%w; run the demo again to continue", err)
	}
	if err != nil {
		return nil, oneLineErr(err)
	}
	r, err := run.Open(out)
	if err != nil {
		return nil, err
	}
	d := &demoResult{Dir: out, Config: rc, Train: res, Metrics: filepath.Join(out, run.MetricsFile), Checkpoints: r.Checkpoints}
	final := d.Checkpoints[len(d.Checkpoints)-1]
	m, err := models.Load(final.Dir)
	if err != nil {
		return nil, err
	}
	d.Prefix = make([]float64, m.Config.NHeads)
	for _, n := range prefixLens {
		s, err := lastLayerPrefixMatching(m, rc.Data.Synthetic.EvalRepeated(n, 2), n, 1)
		if err != nil {
			return nil, err
		}
		for h := range d.Prefix {
			d.Prefix[h] += s[h] / float64(len(prefixLens))
		}
	}
	for h, s := range d.Prefix {
		if s > d.Prefix[d.BestHead] {
			d.BestHead = h
		}
	}
	printDemo(w, d)
	if d.Index, err = demoReports(ctx, d, w, o.progress); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nopen %s: it links every page above\n", d.Index)
	return d, nil
}

func printDemo(w io.Writer, d *demoResult) {
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
	fmt.Fprintf(w, "prefix matching of the layer-1 heads on [BOS]+r+r (|r| = %v): ", prefixLens)
	for _, s := range d.Prefix {
		fmt.Fprintf(w, "%.2f ", s)
	}
	verdict := "an induction head formed"
	if d.Prefix[d.BestHead] < 0.4 {
		verdict = "no induction head yet (below 0.4)"
	}
	fmt.Fprintf(w, "-> head 1.%d: %s\n", d.BestHead, verdict)
	fmt.Fprintf(w, "\nrun directory: %s\n", d.Dir)
	fmt.Fprintf(w, "  config:      %s (rerun with: mechinterp train --config %s --out DIR)\n", filepath.Join(d.Dir, run.ConfigFile), filepath.Join(d.Dir, run.ConfigFile))
	fmt.Fprintf(w, "  metrics:     %s (one JSON object per step; eval_loss every %d steps)\n", d.Metrics, d.Config.Train.EvalEvery)
	fmt.Fprintf(w, "  checkpoints: %s (%d, at steps %s)\n", filepath.Join(d.Dir, run.CheckpointsDir), len(d.Checkpoints), stepList(d.Checkpoints))
	fmt.Fprintf(w, "  final model: %s (mechinterp run --model %s --tokens 0,5,6,7,5,6)\n", d.Checkpoints[len(d.Checkpoints)-1].Dir, d.Checkpoints[len(d.Checkpoints)-1].Dir)
}

// lastLayerPrefixMatching returns, per head of the last layer, the
// prefix-matching score (probes.PrefixMatching) on 32 prompts [BOS]+r+r with
// |r| = n, r drawn as base says (the vocabulary minus its commonest and
// rarest tenth, see data.SyntheticConfig.EvalRepeated).
func lastLayerPrefixMatching(m *models.Model, base data.RepeatedConfig, n int, seed uint64) ([]float64, error) {
	base.Len, base.MaxLen, base.Repeats = n, n, 2
	s, err := probes.PrefixMatching(m, probes.RepeatOptions{RepeatedConfig: base, Batch: 32, Seed: seed})
	if err != nil {
		return nil, err
	}
	return s[len(s)-1], nil
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
