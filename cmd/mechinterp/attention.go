package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newAttentionCmd) }

func newAttentionCmd() *cobra.Command {
	var j report.AttentionJob
	return command(&cobra.Command{
		Use:   "attention --model DIR (--text \"...\" | --tokens 3,14,15) [-o attention.html]",
		Short: "Write a self-contained page exploring every attention head on one prompt",
		Long:  help("attention"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error {
		return j.Run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
}
