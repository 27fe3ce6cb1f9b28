package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newBestOfNCmd) }

func newBestOfNCmd() *cobra.Command {
	return jobCmd("bestofn --policy DIR --pm DIR [--samples 256] [-o bestofn.html]",
		"Best-of-n sampling scored by a preference model: proxy and true reward against sqrt(KL)", new(report.BestOfNJob))
}
