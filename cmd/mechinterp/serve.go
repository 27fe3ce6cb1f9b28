package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newServeCmd) }

func newServeCmd() *cobra.Command {
	j := report.NewServeJob()
	return command(&cobra.Command{
		Use:   "serve (--model DIR | --run RUN_DIR) [--addr 127.0.0.1:8080]",
		Short: "Serve the attention explorer locally: type a prompt, step through a run's checkpoints",
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error {
		ctx, stop := interruptible(cmd)
		defer stop()
		return j.Serve(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
	})
}
