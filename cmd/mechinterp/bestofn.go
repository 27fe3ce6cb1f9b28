package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newBestOfNCmd) }

func newBestOfNCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bestofn --policy DIR --pm DIR [--samples 256] [-o bestofn.html]",
		Short: "Best-of-n sampling scored by a preference model: proxy and true reward against sqrt(KL)",
		Long: help("bestofn"),
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			if v.GetString("policy") == "" || v.GetString("pm") == "" {
				return errors.New("--policy and --pm are required")
			}
			cfg := lab.BestOfNConfig{Prompts: v.GetInt("prompts"), Samples: v.GetInt("samples"),
				Temperature: v.GetFloat64("temperature"), TopK: v.GetInt("top-k"), TopP: v.GetFloat64("top-p"), Seed: v.GetUint64("seed"),
				Task: lab.SyntheticConfig{Seed: v.GetUint64("task-seed")}}
			res, err := lab.RunBestOfN(v.GetString("policy"), v.GetString("pm"), cfg)
			if err != nil {
				return err
			}
			out := v.GetString("out")
			return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.BestOfN(res) }, v.GetBool("json"), res,
				func(w io.Writer) { report.BestOfNText(w, res, out) })
		}),
	}
	f := cmd.Flags()
	f.String("policy", "", "policy checkpoint to sample from")
	f.String("pm", "", "preference model directory (prefs train's RUN/model)")
	f.Int("prompts", 32, "held-out prompts")
	f.Int("samples", 256, "continuations per prompt (the largest n)")
	f.Float64("temperature", 1, "sampling temperature")
	f.Int("top-k", 0, "keep the k most likely tokens (0: all)")
	f.Float64("top-p", 0, "nucleus sampling threshold (0: off)")
	f.Uint64("seed", 1, "sampling seed")
	f.Uint64("task-seed", 1, "the synthetic task's seed (prefs train's default is 1)")
	addOutFlag(cmd, "bestofn.html", "HTML report to write")
	addJSONFlag(cmd, "points")
	addFlagFile(cmd)
	return cmd
}
