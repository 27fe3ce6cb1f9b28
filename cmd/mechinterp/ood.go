package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newOODCmd) }

func newOODCmd() *cobra.Command {
	var j report.OODJob
	return command(&cobra.Command{
		Use:   "ood --model DIR [--in FILE --ood FILE [--fit FILE] [--background FILE] [--ids]] [-o ood.html]",
		Short: "Out-of-distribution detection on activations: Mahalanobis, relative and simplified relative, AUROC by layer",
		Long:  help("ood"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout()) })
}
