package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

// dashboards ends the summary of features and neurons, which write the dashboards.
const dashboards = ": top contexts, activation bands, histogram, logit effects"

func init() {
	subcommands = append(subcommands, func() *cobra.Command {
		j := report.NewFeaturesJob()
		return jobCmd("features --model DIR --sae SAE_DIR [-o features.html]", "Feature dashboards of an SAE"+dashboards, &j)
	}, func() *cobra.Command {
		j := report.NewNeuronsJob()
		return jobCmd("neurons --model DIR --layer L [-o neurons.html]", "Neuron dashboards of a layer's MLP"+dashboards, &j)
	})
}
