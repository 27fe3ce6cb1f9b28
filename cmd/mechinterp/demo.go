package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var j report.DemoJob
	var n report.NeuronsDemoJob
	cmd := command(&cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Train a small model until induction heads form, and say where everything is",
		Long:  help("demo"),
		Args:  cobra.NoArgs,
	}, &j, untilInterrupted(&j))
	cmd.AddCommand(command(&cobra.Command{
		Use:   "neurons [--out DIR]",
		Short: "Train a 1-layer model on Go text and an SAE on its MLP; write neuron and feature dashboards",
		Long:  help("demo-neurons"),
		Args:  cobra.NoArgs,
	}, &n, untilInterrupted(&n)))
	return cmd
}
