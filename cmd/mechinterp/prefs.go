package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newPrefsCmd) }

func newPrefsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prefs",
		Short: "Preference models (Askell et al. 2021, Bai et al. 2022): train one, draw its page",
		Args:  cobra.NoArgs,
	}
	var t report.PrefsTrainJob
	var r report.PrefsReportJob
	var s report.PrefsStudyJob
	var a report.AttributeJob
	cmd.AddCommand(command(&cobra.Command{
		Use:   "train --out DIR [--config prefs.yaml] [--objective preference|binary|imitation]",
		Short: "Train a preference model on the synthetic task or HH-RLHF files; write the model, results.json and index.html",
		Long:  help("prefs-train"),
		Args:  cobra.NoArgs,
	}, &t, func(cmd *cobra.Command, _ []string) error { return t.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) }),
		command(&cobra.Command{
			Use:   "report DIR",
			Short: "Redraw a preference-model run's page from its results.json",
			Args:  cobra.ExactArgs(1),
		}, &r, func(cmd *cobra.Command, args []string) error { r.Dir = args[0]; return r.Run(cmd.OutOrStdout()) }),
		command(&cobra.Command{
			Use:   "study --out DIR [--config study.yaml] [--shard i/n]",
			Short: "Accuracy against model size per objective, and against finetuning comparisons with and without pre-training",
			Long:  help("prefs-study"),
			Args:  cobra.NoArgs,
		}, &s, func(cmd *cobra.Command, _ []string) error { return s.Run(cmd.OutOrStdout(), cmd.ErrOrStderr()) }),
		command(&cobra.Command{
			Use:   "attribute --pm DIR [--n 200] [-o attribution.html]",
			Short: "Decompose a preference model's rewards into heads, MLPs and embeddings, and patch chosen into rejected",
			Args:  cobra.NoArgs,
		}, &a, func(cmd *cobra.Command, _ []string) error { return a.Run(cmd.OutOrStdout()) }))
	return cmd
}
