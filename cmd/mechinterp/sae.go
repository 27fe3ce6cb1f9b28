package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newSAECmd) }

func newSAECmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sae", Short: "Sparse autoencoders on a model's hook activations (SAELens's layout)"}
	var t report.SAETrainJob
	var e report.SAEEvalJob
	cmd.AddCommand(command(&cobra.Command{
		Use:   "train --model DIR --hook NAME [--data goroot|PATH...] [--arch topk --k 32 --width 2048] --out SAE_DIR",
		Short: "Train an SAE on the activations of one hook point over a corpus",
		Long:  help("sae-train"),
		Args:  cobra.NoArgs,
	}, &t, untilInterrupted(&t)), command(&cobra.Command{
		Use:   "eval --model DIR --sae SAE_DIR [--data goroot|PATH...] [--json]",
		Short: "Score an SAE on a model: l0, explained_variance, mse, ce_loss_score, kl, dead, dense",
		Args:  cobra.NoArgs,
	}, &e, func(cmd *cobra.Command, _ []string) error { return e.Run(cmd.Context(), cmd.OutOrStdout()) }), newSAEReportCmd())
	return cmd
}
