package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	var j report.ForwardJob
	return command(&cobra.Command{
		Use:   "run --model DIR (--tokens 3,14,15 | --text \"...\") [--process STEPS]",
		Short: "Run one forward pass and print the top next-token predictions",
		Long:  help("run"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout()) })
}
