package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newOODCmd) }

func newOODCmd() *cobra.Command {
	return jobCmd("ood --model DIR [--in FILE --ood FILE [--fit FILE] [--background FILE] [--ids]] [-o ood.html]",
		"Out-of-distribution detection on activations: Mahalanobis, relative and simplified relative, AUROC by layer", new(report.OODJob))
}
