package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTrackCmd) }

func newTrackCmd() *cobra.Command {
	var j report.TrackJob
	return command(&cobra.Command{
		Use:   "track RUN_DIR [-o track.html] [--workers N] [--threshold 0.4]",
		Short: "Probe every checkpoint of a training run and say when induction heads formed",
		Long:  help("track"),
		Args:  cobra.ExactArgs(1),
	}, &j, func(cmd *cobra.Command, args []string) error {
		ctx, stop := interruptible(cmd)
		defer stop()
		j.Dir = args[0]
		return j.Run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
}
