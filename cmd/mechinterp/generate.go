package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newGenerateCmd) }

func newGenerateCmd() *cobra.Command {
	return jobCmd("generate --model DIR (--text ... | --tokens ...) [--new 20] [--samples 1]",
		"Sample continuations of a prompt: temperature, top-k, top-p, seeded", new(report.GenerateJob))
}
