package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() {
	subcommands = append(subcommands, func() *cobra.Command {
		j := report.NewFeaturesJob()
		return newDashboardCmd("features --model DIR --sae SAE_DIR [-o features.html]", "Feature dashboards of an SAE", &j)
	}, func() *cobra.Command {
		j := report.NewNeuronsJob()
		return newDashboardCmd("neurons --model DIR --layer L [-o neurons.html]", "Neuron dashboards of a layer's MLP", &j)
	})
}

// newDashboardCmd is features or neurons, whose job j (a pointer) writes the dashboards.
func newDashboardCmd(use, what string, j interface {
	Run(context.Context, io.Writer) error
}) *cobra.Command {
	return command(&cobra.Command{
		Use:   use,
		Short: what + ": top contexts, activation bands, histogram, logit effects",
		Args:  cobra.NoArgs,
	}, j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.Context(), cmd.OutOrStdout()) })
}
