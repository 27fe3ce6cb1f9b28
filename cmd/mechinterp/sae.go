package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newSAECmd) }

func newSAECmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sae", Short: "Sparse autoencoders on a model's hook activations (SAELens's layout)"}
	cmd.AddCommand(
		jobCmd("train --model DIR --hook NAME [--data goroot|PATH...] [--arch topk --k 32 --width 2048] --out SAE_DIR",
			"Train an SAE on the activations of one hook point over a corpus", new(report.SAETrainJob)),
		jobCmd("eval --model DIR --sae SAE_DIR [--data goroot|PATH...] [--json]",
			"Score an SAE on a model: l0, explained_variance, mse, ce_loss_score, kl, dead, dense", new(report.SAEEvalJob)),
		jobCmd("report --model DIR --sae SAE_DIR [--out DIR]",
			"Neuron and feature dashboards over the same tokens, and the neurons-vs-features page", new(report.SAEReportJob)))
	return cmd
}
