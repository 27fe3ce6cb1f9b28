package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	return jobCmd("run --model DIR (--tokens 3,14,15 | --text \"...\") [--process STEPS]",
		"Run one forward pass and print the top next-token predictions", new(report.ForwardJob))
}
