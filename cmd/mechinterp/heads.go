package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newHeadsCmd) }

func newHeadsCmd() *cobra.Command {
	var j report.HeadsJob
	return command(&cobra.Command{
		Use:   "heads --model DIR [--json] [-o heads.html]",
		Short: "Score every attention head (induction, previous token, duplicate token, copying) and give each a role",
		Long:  help("heads"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) })
}
