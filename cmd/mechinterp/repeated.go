package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newRepeatedCmd) }

func newRepeatedCmd() *cobra.Command {
	cmd := jobCmd("repeated [--config study.yaml] [--out DIR] [--shard i/n] [--workers N]",
		"Train model families on repeated data and measure the damage to induction heads and copying", new(report.RepeatedJob))
	r := new(report.RepeatedReportJob)
	cmd.AddCommand(argJobCmd("report DIR [-o report.html] [--json]",
		"Merge a study directory's results into one table and report", r, &r.Dir))
	return cmd
}
