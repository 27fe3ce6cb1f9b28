package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newCircuitsCmd) }

func newCircuitsCmd() *cobra.Command {
	var j report.CircuitsJob
	return command(&cobra.Command{
		Use:   "circuits --model DIR [--json] [-o circuits.html]",
		Short: "Explain each head from its weights: OV copying scores and Q/K/V composition",
		Long:  help("circuits"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) })
}
