package main

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

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
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			return runCircuits(cmd.OutOrStdout(), v.GetString("model"), v.GetString("out"), v.GetBool("json"), v.GetInt("top"), v.GetUint64("seed"))
		},
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
	pairs := a.TopPairs(top)
	if err := writePage(out, func() (*viz.Report, error) { return report.Circuits(a, dir) }); err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, map[string]any{"model": dir, "heads": a.Heads, "composition": a.Composition, "top_pairs": pairs, "report": out})
	}
	c := m.Config
	fmt.Fprintf(w, "%s: %d layers x %d heads, d_model %d, d_head %d\n\n", dir, c.NLayers, c.NHeads, c.DModel, c.DHead)
	fmt.Fprintf(w, "%-8s %11s %11s %9s %9s\n", "head", "OV copying", "QK copying", "|OV|_F", "|QK|_F")
	for _, h := range a.Heads {
		fmt.Fprintf(w, "%-8s %11s %11s %9.3f %9.3f\n", h.Head, fmtScore(h.OVCopying), fmtScore(h.QKCopying), h.OVNorm, h.QKNorm)
	}
	fmt.Fprintln(w)
	if c.NLayers < 2 {
		fmt.Fprintln(w, "one layer: no head can compose with another")
	} else {
		fmt.Fprintln(w, "random baseline (Gaussian matrices of the same shapes):")
		for _, s := range a.Composition {
			b := s.Baseline
			fmt.Fprintf(w, "  %s-composition: %.4f ± %.4f, 95th percentile %.4f (%d draws, seed %d)\n", s.Kind, b.Mean, b.Std, b.P95, b.Samples, b.Seed)
		}
		fmt.Fprintf(w, "\ntop composition pairs above the 95th percentile of the baseline, by z-score:\n")
		if len(pairs) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, p := range pairs {
			b := a.Scores(p.Kind).Baseline
			fmt.Fprintf(w, "  %s  %-6s -> %-6s  %.4f   baseline %.4f ± %.4f   z %.1f\n", p.Kind, p.Earlier, p.Later, p.Score, b.Mean, b.Std, p.Z)
		}
	}
	if out != "" {
		fmt.Fprintf(w, "\nreport: %s\n", out)
	}
	return nil
}

func fmtScore(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", v)
}
