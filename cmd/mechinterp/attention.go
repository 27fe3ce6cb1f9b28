package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newAttentionCmd) }

func newAttentionCmd() *cobra.Command {
	return jobCmd("attention --model DIR (--text \"...\" | --tokens 3,14,15) [-o attention.html]",
		"Write a self-contained page exploring every attention head on one prompt", new(report.AttentionJob))
}
