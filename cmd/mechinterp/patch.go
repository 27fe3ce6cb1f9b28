package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newPatchCmd) }

func newPatchCmd() *cobra.Command {
	return jobCmd(`patch --model DIR --clean "..." --corrupted "..." --answer X --wrong Y [--tokens-mode] [-o patch.html]`,
		"Find the components that carry an answer: activation and attribution patching, direct logit attribution", new(report.PatchJob))
}
