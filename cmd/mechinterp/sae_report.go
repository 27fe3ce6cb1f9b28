package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/sae"
)

func newSAEReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report --model DIR --sae SAE_DIR [--out DIR]",
		Short: "Neuron and feature dashboards over the same tokens, and the neurons-vs-features page",
		Long: help("sae-report"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			model, dir := v.GetString("model"), v.GetString("sae")
			if model == "" || dir == "" {
				return fmt.Errorf("--model and --sae are required")
			}
			names, n, seed := v.GetStringSlice("data"), v.GetInt("contexts"), v.GetUint64("seed")
			features, err := sae.DashboardJob(cmd.Context(), model, dir, "", names, n, seed)
			if err != nil {
				return oneLineErr(err)
			}
			neurons, err := sae.DashboardJob(cmd.Context(), model, "", features.Hook, names, n, seed)
			if err != nil {
				return oneLineErr(err)
			}
			out := v.GetString("out")
			c, err := report.WriteSAEReport(out, neurons, features, "Neurons and SAE features of "+model, "")
			if err != nil {
				return err
			}
			if v.GetBool("json") {
				return printJSON(cmd.OutOrStdout(), c)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "top-%d entropy of the current token: neurons median %.2f bits (%d units, %.0f%% at least half one token); features median %.2f bits (%d units, %.0f%%)\n-> %s\n",
				c.K, float64(c.MedianNeuron), c.Neurons, 100*c.HalfNeuron, float64(c.MedianFeat), c.Features, 100*c.HalfFeat, out)
			return nil
		},
	}
	addModelFlag(cmd)
	addJSONFlag(cmd, "concentration numbers")
	f := cmd.Flags()
	f.String("sae", "", "SAE directory (SAELens layout)")
	f.String("out", "sae-report", "directory to write the pages into")
	f.StringSlice("data", []string{data.KindGoroot}, `corpus: "goroot", or text files and directories`)
	f.Int("contexts", 256, "contexts of n_ctx tokens to read")
	f.Uint64("seed", 3, "seed of the corpus windows")
	addFlagFile(cmd)
	return cmd
}
