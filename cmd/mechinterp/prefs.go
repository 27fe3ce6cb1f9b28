package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newPrefsCmd) }

func newPrefsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prefs",
		Short: "Preference models (Askell et al. 2021, Bai et al. 2022): train one, draw its page",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPrefsTrainCmd(), newPrefsReportCmd(), newPrefsStudyCmd(), newPrefsAttributeCmd())
	return cmd
}

func newPrefsTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train --out DIR [--config prefs.yaml] [--objective preference|binary|imitation]",
		Short: "Train a preference model on the synthetic task or HH-RLHF files; write the model, results.json and index.html",
		Long: help("prefs-train"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			file, _ := f.GetString("config")
			cfg, err := lab.LoadPrefsConfig(file)
			if err != nil {
				return err
			}
			if f.Changed("objective") {
				o, _ := f.GetString("objective")
				if cfg.Train.Objective, err = lab.ParseObjective(o); err != nil {
					return err
				}
			}
			if f.Changed("steps") {
				cfg.Train.Steps, _ = f.GetInt("steps")
				cfg.Train.EvalEvery, cfg.Train.Warmup = 0, 0
				cfg.Train = cfg.Train.WithDefaults()
			}
			if f.Changed("init") {
				cfg.Init, _ = f.GetString("init")
			}
			out, _ := f.GetString("out")
			if out == "" {
				return errors.New("--out is required (the run's directory)")
			}
			quiet, _ := f.GetBool("quiet")
			asJSON, _ := f.GetBool("json")
			return runPrefsTrain(cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, out, quiet, asJSON)
		},
	}
	f := cmd.Flags()
	f.String("config", "", "YAML file of the run's settings (docs/alignment-lab.md lists the keys)")
	f.String("out", "", "directory to write the model, results.json and index.html into")
	f.String("objective", "preference", "preference, binary or imitation")
	f.Int("steps", 0, "training steps (0: the config's)")
	f.String("init", "", "language-model checkpoint to start from (default: a fresh model)")
	f.Bool("quiet", false, "no progress lines")
	addJSONFlag(cmd, "final held-out metrics")
	return cmd
}

func runPrefsTrain(w, progress io.Writer, cfg lab.PrefsConfig, out string, quiet, asJSON bool) error {
	res, _, err := lab.TrainPrefs(cfg, out, func(m lab.Metrics) {
		if !quiet {
			fmt.Fprintf(progress, "step %d: loss %.4f accuracy %.3f ECE %.3f\n", m.Step, m.Loss, m.Accuracy, m.ECE)
		}
	})
	if err != nil {
		return err
	}
	page := filepath.Join(out, lab.ReportFile)
	return show(w, page, func() (*viz.Report, error) { return report.Prefs(res) }, asJSON, res.History.Final,
		func(w io.Writer) { report.PrefsText(w, res, page) })
}

func newPrefsReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Redraw a preference-model run's page from its results.json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := lab.ReadPrefsResult(args[0])
			if err != nil {
				return err
			}
			if j, _ := cmd.Flags().GetBool("json"); j {
				return printJSON(cmd.OutOrStdout(), res.History.Final)
			}
			page := filepath.Join(args[0], lab.ReportFile)
			if err := report.WritePage(page, func() (*viz.Report, error) { return report.Prefs(res) }); err != nil {
				return err
			}
			report.PrefsText(cmd.OutOrStdout(), res, page)
			return nil
		},
	}
	addJSONFlag(cmd, "final held-out metrics")
	return cmd
}

func newPrefsStudyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "study --out DIR [--config study.yaml] [--shard i/n]",
		Short: "Accuracy against model size per objective, and against finetuning comparisons with and without pre-training",
		Long: help("prefs-study"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			file, _ := f.GetString("config")
			out, _ := f.GetString("out")
			if out == "" {
				return errors.New("--out is required (the study's directory)")
			}
			var i, n int
			shard, _ := f.GetString("shard")
			if _, err := fmt.Sscanf(shard, "%d/%d", &i, &n); err != nil {
				return fmt.Errorf("--shard %q: want i/n, such as 0/1", shard)
			}
			cfg, err := lab.LoadStudyConfig(file)
			if err != nil {
				return err
			}
			rows, err := lab.RunStudy(cfg, out, i, n, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			page := filepath.Join(out, lab.ReportFile)
			return show(cmd.OutOrStdout(), page, func() (*viz.Report, error) { return report.PrefsStudy(cfg.WithDefaults(), rows) }, jsonFlag(cmd), rows,
				func(w io.Writer) { report.PrefsStudyText(w, rows, cfg.WithDefaults().EvalComparisons, page) })
		},
	}
	f := cmd.Flags()
	f.String("config", "", "YAML file of the study's settings (docs/alignment-lab.md lists the keys)")
	f.String("out", "", "the study's directory")
	f.String("shard", "0/1", "run the cells whose index is i mod n")
	addJSONFlag(cmd, "finished cells")
	return cmd
}

func newPrefsAttributeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attribute --pm DIR [--n 200] [-o attribution.html]",
		Short: "Decompose a preference model's rewards into heads, MLPs and embeddings, and patch chosen into rejected",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			dir, _ := f.GetString("pm")
			if dir == "" {
				return errors.New("--pm is required (prefs train's RUN/model)")
			}
			n, _ := f.GetInt("n")
			ts, _ := f.GetUint64("task-seed")
			a, err := lab.RunAttribute(dir, lab.SyntheticConfig{Seed: ts}, n)
			if err != nil {
				return err
			}
			out, _ := f.GetString("out")
			return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.Attribution(a, dir) }, jsonFlag(cmd), a,
				func(w io.Writer) { report.AttributionText(w, a, out) })
		},
	}
	f := cmd.Flags()
	f.String("pm", "", "preference model directory (prefs train's RUN/model)")
	f.Int("n", 200, "held-out comparisons of the synthetic task")
	f.Uint64("task-seed", 1, "the synthetic task's seed")
	addOutFlag(cmd, "attribution.html", "HTML report to write")
	addJSONFlag(cmd, "attribution")
	return cmd
}
