package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/report"
)

func newDemoNeuronsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "neurons [--out DIR]",
		Short: "Train a 1-layer model on Go text and an SAE on its MLP; write neuron and feature dashboards",
		Long:  help("demo-neurons"),
		Args:  cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			_, err := report.NeuronsDemo(ctx, v.GetString("out"), cmd.OutOrStdout(), report.NeuronsDemoOptions{
				Steps: v.GetInt("steps"), SAESteps: v.GetInt("sae-steps"), Contexts: v.GetInt("contexts"),
				Progress: report.Progress(cmd.ErrOrStderr(), v.GetBool("quiet"))})
			return err
		}),
	}
	f := cmd.Flags()
	f.String("out", "mechinterp-neurons", "demo directory")
	f.Bool("quiet", false, "no progress")
	f.Int("steps", 0, "model training steps (0: 1200)")
	f.Int("sae-steps", 0, "SAE training steps (0: 1500)")
	f.Int("contexts", 0, "contexts the dashboards read (0: 256)")
	return cmd
}
