package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newHeadsCmd) }

func newHeadsCmd() *cobra.Command {
	return jobCmd("heads --model DIR [--json] [-o heads.html]",
		"Score every attention head (induction, previous token, duplicate token, copying) and give each a role", new(report.HeadsJob))
}
