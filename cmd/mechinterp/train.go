package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTrainCmd) }

func newTrainCmd() *cobra.Command {
	return jobCmd("train [--config run.yaml] [--out DIR] [--resume]",
		"Train a model from a YAML config, with checkpoints and a metrics log", new(report.TrainJob))
}
