package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newOODCmd) }

func newOODCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ood --model DIR [--in FILE --ood FILE [--fit FILE] [--background FILE] [--ids]] [-o ood.html]",
		Short: "Out-of-distribution detection on activations: Mahalanobis, relative and simplified relative, AUROC by layer",
		Long: help("ood"),
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			dir := v.GetString("model")
			if dir == "" {
				return errors.New("--model is required")
			}
			files := lab.OODFiles{Fit: v.GetString("fit"), Background: v.GetString("background"), Outliers: v.GetString("outliers"),
				In: v.GetString("in"), Out: v.GetString("ood"), IDs: v.GetBool("ids")}
			cfg := probes.OODConfig{Hook: v.GetString("hook"), Pool: v.GetString("pool"), Shrinkage: v.GetFloat64("shrinkage")}
			res, data, err := lab.RunOOD(dir, files, lab.SyntheticConfig{Seed: v.GetUint64("task-seed")}, v.GetInt("n"), cfg)
			if err != nil {
				return err
			}
			out := v.GetString("out")
			return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.OOD(res, dir, data) }, v.GetBool("json"), res,
				func(w io.Writer) { report.OODText(w, res, data, out) })
		}),
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("in", "", "in-distribution inputs, one per line (half fitted unless --fit is given)")
	f.String("ood", "", "out-of-distribution inputs, one per line")
	f.String("fit", "", "inputs to fit the in-distribution Gaussian to")
	f.String("background", "", "background inputs for the relative Mahalanobis distance")
	f.String("outliers", "", "a few labelled out-of-distribution inputs, for few-shot outlier exposure")
	f.Bool("ids", false, "files hold comma-separated token ids instead of text")
	f.String("hook", "resid_post", "activation read at every layer (resid_post, resid_pre, attn_out, mlp_out ...)")
	f.String("pool", "mean", "mean or last: how positions are pooled")
	f.Float64("shrinkage", 0.01, "covariance shrinkage towards a scaled identity, in [0,1]")
	f.Int("n", 1000, "built-in sets: inputs to fit on (held-out sets are half as large)")
	f.Uint64("task-seed", 1, "built-in sets: the synthetic task's seed")
	addOutFlag(cmd, "ood.html", "HTML report to write")
	addJSONFlag(cmd, "scores")
	addFlagFile(cmd)
	return cmd
}
