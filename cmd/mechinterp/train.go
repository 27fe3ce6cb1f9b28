package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newTrainCmd) }

func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train [--config run.yaml] [--out DIR] [--resume]",
		Short: "Train a model from a YAML config, with checkpoints and a metrics log",
		Long:  help("train"),
		Args:  cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			file := cmd.Flags().Lookup("config").Value.String()
			out := v.GetString(run.OutKey)
			if out == "" {
				out = run.DefaultDir(file)
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			res, err := run.StartFile(ctx, file, out, run.Options{Resume: v.GetBool("resume"),
				Progress: report.Progress(cmd.ErrOrStderr(), v.GetBool("quiet"))})
			if errors.Is(err, train.ErrInterrupted) {
				return fmt.Errorf("%w; continue with --resume --out %s", err, out)
			}
			if err != nil {
				return oneLineErr(err)
			}
			report.TrainText(cmd.OutOrStdout(), res)
			return nil
		}),
	}
	f := cmd.Flags()
	f.String("config", "", "YAML run config (model:, data:, train:)")
	f.String("out", "", "run directory (default runs/<config name>)")
	f.Bool("resume", false, "continue from the latest checkpoint in the run directory")
	f.Bool("quiet", false, "no progress bar")
	return cmd
}
