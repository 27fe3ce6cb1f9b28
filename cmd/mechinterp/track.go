package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
)

func init() { subcommands = append(subcommands, newTrackCmd) }

func newTrackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "track RUN_DIR [-o track.html] [--workers N] [--threshold 0.4]",
		Short: "Probe every checkpoint of a training run and say when induction heads formed",
		Long: `Compute the head scores of 'mechinterp heads', the induction loss and the
ICL score for every checkpoint of a training run, in parallel, and write them
to RUN_DIR/track/track.csv (one row per checkpoint and head) and track.jsonl
(one line per checkpoint), with an HTML report. Prints the step at which each
head's prefix-matching score crossed --threshold for good next to the loss
bump located in RUN_DIR/metrics.jsonl. Run it again while training goes on:
only new checkpoints are computed. The run's run.yaml, when present, gives
the token range of the prompts and the held-out data of the ICL score.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			return runTrack(cmd, args[0], v)
		},
	}
	f := cmd.Flags()
	f.StringP("out", "o", "", "HTML report to write (default RUN_DIR/track/track.html)")
	f.Int("workers", 0, "checkpoints probed at once (0: one per core)")
	f.Float64("threshold", 0.4, "prefix-matching score at which an induction head counts as formed")
	f.Bool("json", false, "print the result as JSON")
	f.Bool("quiet", false, "no progress on stderr")
	addPromptFlags(cmd)
	addFlagFile(cmd)
	return cmd
}

func runTrack(cmd *cobra.Command, dir string, v *viper.Viper) error {
	if th := v.GetFloat64("threshold"); !(th > 0 && th <= 1) {
		return fmt.Errorf("--threshold must be in (0, 1], got %g", th)
	}
	o := probes.TrackOptions{Workers: v.GetInt("workers"), Threshold: v.GetFloat64("threshold")}
	o.Heads.Repeat = repeatOptions(v, runData(dir), 0) // the ICL prompts: Track reads the run's held-out data
	errw := cmd.ErrOrStderr()
	if !v.GetBool("quiet") {
		o.Progress = func(done, total, step int) {
			fmt.Fprintf(errw, "track: probed step %d (%d/%d)\n", step, done, total)
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := probes.Track(ctx, dir, o)
	if err != nil {
		return err
	}
	out := v.GetString("out")
	if out == "" {
		out = filepath.Join(dir, run.TrackDir, "track.html")
	}
	r, err := report.Track(res)
	if err != nil {
		return err
	}
	if err := r.WriteFile(out); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if v.GetBool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTrack(w, res, out)
	return nil
}

func printTrack(w io.Writer, res *probes.TrackResult, report string) {
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
	any := false
	for _, f := range res.Formation {
		if !f.Formed {
			continue
		}
		any = true
		rel := ""
		if b.Found {
			rel = fmt.Sprintf(" (%+d steps from the bump)", f.Step-b.Step)
		}
		fmt.Fprintf(w, "  %s formed at step %d%s, prefix matching %.2f at the end\n", models.Head{Layer: f.Layer, Head: f.Head}, f.Step, rel, f.Final)
	}
	if !any {
		best := res.Formation[0]
		for _, f := range res.Formation {
			if f.Max > best.Max {
				best = f
			}
		}
		fmt.Fprintf(w, "  none (highest prefix matching: %s, %.2f)\n", models.Head{Layer: best.Layer, Head: best.Head}, best.Max)
	}
	fmt.Fprintf(w, "table: %s, %s\nreport: %s\n", res.CSV, res.JSONL, report)
}
