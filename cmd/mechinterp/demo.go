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
		Long: `Train a 2-layer attention-only transformer on the built-in synthetic
language with in-context repeats until induction heads form: the loss bump
of Olsson et al. 2022, near step 1000. No downloads; under a minute on 2
cores. Checkpoints are dense early (log-spaced) and every 50 steps, so that
later commands can follow the heads forming. Then it runs heads, track,
circuits, attention and patch on what it trained, as a user would, and writes
DIR/index.html linking every report. Running it again continues an
interrupted demo, or reports a finished one.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			_, err := report.Demo(ctx, v.GetString("out"), cmd.OutOrStdout(), report.DemoOptions{
				Steps:    v.GetInt("steps"),
				Progress: progressWriter(cmd.ErrOrStderr(), v.GetBool("quiet")),
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
