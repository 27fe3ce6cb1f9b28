package main

import (
	"github.com/mechinterp/mechinterp/report"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Train a small model until induction heads form, and say where everything is",
		Long:  help("demo"),
		Args:  cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			_, err := report.Demo(ctx, v.GetString("out"), cmd.OutOrStdout(), report.DemoOptions{
				Steps:    v.GetInt("steps"),
				Progress: report.Progress(cmd.ErrOrStderr(), v.GetBool("quiet")),
			})
			return err
		}),
	}
	cmd.AddCommand(newDemoNeuronsCmd())
	f := cmd.Flags()
	f.String("out", "mechinterp-demo", "run directory")
	f.Bool("quiet", false, "no progress bar")
	f.Int("steps", 0, "training steps (0: the recipe's)")
	f.MarkHidden("steps")
	return cmd
}
