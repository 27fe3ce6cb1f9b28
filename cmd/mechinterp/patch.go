package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newPatchCmd) }

func newPatchCmd() *cobra.Command {
	var j report.PatchJob
	return command(&cobra.Command{
		Use:   `patch --model DIR --clean "..." --corrupted "..." --answer X --wrong Y [--tokens-mode] [-o patch.html]`,
		Short: "Find the components that carry an answer: activation and attribution patching, direct logit attribution",
		Long:  help("patch"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error {
		return j.Run(cmd.OutOrStdout(), report.Progress(cmd.ErrOrStderr(), false))
	})
}
