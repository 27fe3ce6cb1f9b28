package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTrainCmd) }

func newTrainCmd() *cobra.Command {
	var j report.TrainJob
	return command(&cobra.Command{
		Use:   "train [--config run.yaml] [--out DIR] [--resume]",
		Short: "Train a model from a YAML config, with checkpoints and a metrics log",
		Long:  help("train"),
		Args:  cobra.NoArgs,
	}, &j, untilInterrupted(&j))
}
