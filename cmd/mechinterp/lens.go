package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newLensCmd) }

func newLensCmd() *cobra.Command {
	var j report.LensJob
	cmd := command(&cobra.Command{
		Use:   "lens --model DIR (--text ... | --tokens ...) [--tuned DIR] [--answer X] [-o lens.html]",
		Short: "The logit lens and the tuned lens: what each layer's residual stream predicts",
		Long:  help("lens"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) })
	var t report.TunedLensJob
	cmd.AddCommand(command(&cobra.Command{
		Use:   "train --model DIR (--run RUN_DIR | --text-file FILE) --out LENS_DIR",
		Short: "Train a tuned lens and compare it with the logit lens on held-out sequences",
		Long:  help("lens-train"),
		Args:  cobra.NoArgs,
	}, &t, func(cmd *cobra.Command, _ []string) error { return t.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) }))
	return cmd
}
