package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newCircuitsCmd) }

func newCircuitsCmd() *cobra.Command {
	return jobCmd("circuits --model DIR [--json] [-o circuits.html]",
		"Explain each head from its weights: OV copying scores and Q/K/V composition", new(report.CircuitsJob))
}
