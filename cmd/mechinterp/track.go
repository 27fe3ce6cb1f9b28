package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/viz"
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
the token range of the prompts and the held-out data of the ICL score.
With --revisions, RUN_DIR holds downloaded checkpoints instead, one Hugging
Face directory per revision named by its step (Pythia's step1000, or
step-1000), probed the same way (docs/models.md).`,
		Args: cobra.ExactArgs(1),
		RunE: withSettings(func(cmd *cobra.Command, args []string, v *viper.Viper) error {
			return runTrack(cmd, args[0], v)
		}),
	}
	f := cmd.Flags()
	f.StringP("out", "o", "", "HTML report to write (default RUN_DIR/track/track.html)")
	f.Int("workers", 0, "checkpoints probed at once (0: one per core)")
	f.Float64("threshold", 0.4, "prefix-matching score at which an induction head counts as formed")
	f.Bool("quiet", false, "no progress on stderr")
	f.Bool("revisions", false, "RUN_DIR holds one Hugging Face directory per revision (step1000, step-2000, ...)")
	addPromptFlags(cmd)
	addJSONFlag(cmd, "result")
	addFlagFile(cmd)
	return cmd
}

func runTrack(cmd *cobra.Command, dir string, v *viper.Viper) error {
	if th := v.GetFloat64("threshold"); !(th > 0 && th <= 1) {
		return fmt.Errorf("--threshold must be in (0, 1], got %g", th)
	}
	o := probes.TrackOptions{Workers: v.GetInt("workers"), Threshold: v.GetFloat64("threshold"), Revisions: v.GetBool("revisions")}
	o.Heads.Repeat = repeatOptions(v, dir, 0) // the ICL prompts: Track reads the run's held-out data
	if !v.GetBool("quiet") {
		o.Progress = report.TrackProgress(cmd.ErrOrStderr())
	}
	ctx, stop := interruptible(cmd)
	defer stop()
	res, err := probes.Track(ctx, dir, o)
	if err != nil {
		return err
	}
	out := v.GetString("out")
	if out == "" {
		out = filepath.Join(dir, run.TrackDir, "track.html")
	}
	return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.Track(res) }, v.GetBool("json"), res,
		func(w io.Writer) { report.TrackText(w, res, out) })
}
