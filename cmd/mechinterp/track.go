package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTrackCmd) }

func newTrackCmd() *cobra.Command {
	j := new(report.TrackJob)
	return argJobCmd("track RUN_DIR [-o track.html] [--workers N] [--threshold 0.4]",
		"Probe every checkpoint of a training run and say when induction heads formed", j, &j.Dir)
}
