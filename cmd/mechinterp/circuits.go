package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newCircuitsCmd) }

func newCircuitsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "circuits --model DIR [--json] [-o circuits.html]",
		Short: "Explain each head from its weights: OV copying scores and Q/K/V composition",
		Long: `Read a checkpoint's weights and print, per head, the eigenvalue copying
scores of its full OV and QK circuits, then the head pairs that compose most
(Q-, K- and V-composition, Elhage et al. 2021), each beside the score of
random matrices of the same shapes. Writes an HTML report with composition
heatmaps, eigenvalue scatters and copying-score bars.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			return runCircuits(cmd.OutOrStdout(), v.GetString("model"), v.GetString("out"), v.GetBool("json"), v.GetInt("top"), v.GetUint64("seed"))
		}),
	}
	addModelFlag(cmd)
	addOutFlag(cmd, "circuits.html", "HTML report to write (\"\" for none)")
	addJSONFlag(cmd, "scores")
	f := cmd.Flags()
	f.Int("top", 10, "how many composition pairs to print")
	f.Uint64("seed", 1, "seed of the random composition baseline")
	addFlagFile(cmd)
	return cmd
}

func runCircuits(w io.Writer, dir, out string, asJSON bool, top int, seed uint64) error {
	if dir == "" {
		return errors.New("--model is required")
	}
	m, err := models.Load(dir)
	if err != nil {
		return err
	}
	a, err := circuits.Analyze(m, seed)
	if err != nil {
		return err
	}
	return show(w, out, func() (*viz.Report, error) { return report.Circuits(a, dir) }, asJSON, map[string]any{"model": dir, "heads": a.Heads, "composition": a.Composition, "top_pairs": a.TopPairs(top), "report": out},
		func(w io.Writer) { report.CircuitsText(w, a, dir, top, out) })
}
