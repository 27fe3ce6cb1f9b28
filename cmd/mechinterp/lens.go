package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newLensCmd) }

func newLensCmd() *cobra.Command {
	cmd := jobCmd("lens --model DIR (--text ... | --tokens ...) [--tuned DIR] [--answer X] [-o lens.html]",
		"The logit lens and the tuned lens: what each layer's residual stream predicts", new(report.LensJob))
	cmd.AddCommand(jobCmd("train --model DIR (--run RUN_DIR | --text-file FILE) --out LENS_DIR",
		"Train a tuned lens and compare it with the logit lens on held-out sequences", new(report.TunedLensJob)))
	return cmd
}
