package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func newSAEReportCmd() *cobra.Command {
	var j report.SAEReportJob
	return command(&cobra.Command{
		Use:   "report --model DIR --sae SAE_DIR [--out DIR]",
		Short: "Neuron and feature dashboards over the same tokens, and the neurons-vs-features page",
		Long:  help("sae-report"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.Context(), cmd.OutOrStdout()) })
}
