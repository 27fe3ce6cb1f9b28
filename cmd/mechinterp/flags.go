package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// The flags that sae's commands declare by hand (the others bind a library struct: command).

// addModelFlag adds --model, the checkpoint directory a command reads.
func addModelFlag(cmd *cobra.Command) {
	cmd.Flags().String("model", "", "checkpoint directory (config.json + model.safetensors)")
}

// addJSONFlag adds --json: print the numbers as JSON instead of a table.
func addJSONFlag(cmd *cobra.Command, what string) {
	cmd.Flags().Bool("json", false, "print the "+what+" as JSON")
}

// withSettings is a RunE that resolves the command's settings (settings) and hands them to run.
func withSettings(run func(cmd *cobra.Command, args []string, v *viper.Viper) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		v, err := settings(cmd)
		if err != nil {
			return err
		}
		return run(cmd, args, v)
	}
}

// interruptible returns the command's context, ended by Ctrl-C or SIGTERM, so that long work
// stops cleanly (a checkpoint saved, no half-written file).
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}
