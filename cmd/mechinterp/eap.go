package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newEAPCmd) }

func newEAPCmd() *cobra.Command {
	return jobCmd("eap --model DIR (--task induction | --tasks FILE) [--method eap|eap-ig] [--json]",
		"Find a circuit by edge attribution patching and check it by patching", new(report.EAPJob))
}
