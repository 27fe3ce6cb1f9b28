package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newFeaturesCmd, newNeuronsCmd) }

func newFeaturesCmd() *cobra.Command {
	j := report.NewFeaturesJob()
	return command(&cobra.Command{
		Use:   "features --model DIR --sae SAE_DIR [-o features.html]",
		Short: "Feature dashboards of an SAE: top contexts, activation bands, histogram, logit effects",
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.Context(), cmd.OutOrStdout()) })
}

func newNeuronsCmd() *cobra.Command {
	j := report.NewNeuronsJob()
	return command(&cobra.Command{
		Use:   "neurons --model DIR --layer L [-o neurons.html]",
		Short: "Neuron dashboards of a layer's MLP: top contexts, activation bands, histogram, logit effects",
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.Context(), cmd.OutOrStdout()) })
}
