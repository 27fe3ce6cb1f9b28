package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newEAPCmd) }

func newEAPCmd() *cobra.Command {
	var j report.EAPJob
	return command(&cobra.Command{
		Use:   "eap --model DIR (--task induction | --tasks FILE) [--method eap|eap-ig] [--json]",
		Short: "Find a circuit by edge attribution patching and check it by patching",
		Long:  help("eap"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) })
}
