package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	cmd := jobCmd("demo [--out DIR]",
		"Train a small model until induction heads form, and say where everything is", new(report.DemoJob))
	cmd.AddCommand(jobCmd("neurons [--out DIR]",
		"Train a 1-layer model on Go text and an SAE on its MLP; write neuron and feature dashboards", new(report.NeuronsDemoJob)))
	return cmd
}
