package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newRepeatedCmd) }

func newRepeatedCmd() *cobra.Command {
	var j report.RepeatedJob
	cmd := command(&cobra.Command{
		Use:   "repeated [--config study.yaml] [--out DIR] [--shard i/n] [--workers N]",
		Short: "Train model families on repeated data and measure the damage to induction heads and copying",
		Long:  help("repeated"),
		Args:  cobra.NoArgs,
	}, &j, untilInterrupted(&j))
	var r report.RepeatedReportJob
	cmd.AddCommand(command(&cobra.Command{
		Use:   "report DIR [-o report.html] [--json]",
		Short: "Merge a study directory's results into one table and report",
		Long:  help("repeated-report"),
		Args:  cobra.ExactArgs(1),
	}, &r, func(cmd *cobra.Command, args []string) error { r.Dir = args[0]; return r.Run(cmd.OutOrStdout()) }))
	return cmd
}
