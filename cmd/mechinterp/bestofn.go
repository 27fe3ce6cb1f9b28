package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newBestOfNCmd) }

func newBestOfNCmd() *cobra.Command {
	var j report.BestOfNJob
	return command(&cobra.Command{
		Use:   "bestofn --policy DIR --pm DIR [--samples 256] [-o bestofn.html]",
		Short: "Best-of-n sampling scored by a preference model: proxy and true reward against sqrt(KL)",
		Long:  help("bestofn"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout()) })
}
