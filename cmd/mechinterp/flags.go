package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// untilInterrupted is a command's run that calls j.Run (j a pointer to the job command
// binds) with a context that Ctrl-C or SIGTERM ends (interruptible).
func untilInterrupted(j interface {
	Run(ctx context.Context, w, errw io.Writer) error
}) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		ctx, stop := interruptible(cmd)
		defer stop()
		return j.Run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
}

// interruptible returns the command's context, ended by Ctrl-C or SIGTERM, so that long work
// stops cleanly (a checkpoint saved, no half-written file).
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}
