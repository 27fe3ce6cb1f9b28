package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newGenerateCmd) }

func newGenerateCmd() *cobra.Command {
	var j report.GenerateJob
	return command(&cobra.Command{
		Use:   "generate --model DIR (--text ... | --tokens ...) [--new 20] [--samples 1]",
		Short: "Sample continuations of a prompt: temperature, top-k, top-p, seeded",
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) })
}
