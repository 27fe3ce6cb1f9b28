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
	r := new(report.PrefsReportJob)
	cmd.AddCommand(
		jobCmd("train --out DIR [--config prefs.yaml] [--objective preference|binary|imitation]",
			"Train a preference model on the synthetic task or HH-RLHF files; write the model, results.json and index.html", new(report.PrefsTrainJob)),
		argJobCmd("report DIR", "Redraw a preference-model run's page from its results.json", r, &r.Dir),
		jobCmd("study --out DIR [--config study.yaml] [--shard i/n]",
			"Accuracy against model size per objective, and against finetuning comparisons with and without pre-training", new(report.PrefsStudyJob)),
		jobCmd("attribute --pm DIR [--n 200] [-o attribution.html]",
			"Decompose a preference model's rewards into heads, MLPs and embeddings, and patch chosen into rejected", new(report.AttributeJob)))
	return cmd
}
