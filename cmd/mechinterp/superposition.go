package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newSuperpositionCmd) }

// superpositionFlags are the command's own keys; every other key of the
// merged settings is an experiment setting.
var superpositionFlags = map[string]bool{"config": true, "out": true, "quick": true, "steps": true, "threads": true, "seeds": true, "help": true}

func newSuperpositionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "superposition <experiment>",
		Short: "Toy models of superposition and sparse autoencoders (Elhage et al. 2022)",
		Long: "Runs one experiment of Toy Models of Superposition and writes results.json (every number its charts plot)\n" +
			"and report.html (a self-contained page of its charts) into --out.\n\nExperiments:\n" +
			spExperimentList() +
			"\nEach has a ready paper-scale config (print it with --print-config); --config FILE overrides its keys.",
		Args: cobra.ExactArgs(1),
		RunE: runSuperposition,
	}
	f := cmd.Flags()
	f.String("config", "", "YAML file overriding the experiment's ready config")
	f.String("out", "", "output directory (default ./superposition-<experiment>)")
	f.Bool("quick", false, "shrink steps and seeds for a fast smoke run")
	f.Int("steps", 0, "training steps (0: the config's)")
	f.Int("seeds", 0, "seeds per setting (0: the config's)")
	f.Int("threads", 0, "goroutines (0: all cores)")
	f.Bool("print-config", false, "print the experiment's ready config and exit")
	superpositionFlags["print-config"] = true
	return cmd
}

func spExperimentList() string {
	var b strings.Builder
	for _, n := range superposition.ExperimentNames() {
		fmt.Fprintf(&b, "  %-15s %s\n", n, superposition.Experiments[n])
	}
	return b.String()
}

func runSuperposition(cmd *cobra.Command, args []string) error {
	name := args[0]
	def, err := superposition.ConfigYAML(name)
	if err != nil {
		return err
	}
	if p, _ := cmd.Flags().GetBool("print-config"); p {
		_, err := cmd.OutOrStdout().Write(def)
		return err
	}
	v, err := settings(cmd)
	if err != nil {
		return err
	}
	cfg, err := spExperimentConfig(def, cmd.Flags().Lookup("config").Value.String())
	if err != nil {
		return err
	}
	if s := v.GetInt("steps"); s > 0 {
		cfg.Steps = s
	}
	if s := v.GetInt("seeds"); s > 0 {
		cfg.Seeds = s
	}
	if t := v.GetInt("threads"); t > 0 {
		cfg.Threads = t
	}
	if v.GetBool("quick") {
		spQuick(&cfg)
	}
	out := v.GetString("out")
	if out == "" {
		out = "superposition-" + name
	}
	progress := func(done, total int) {
		fmt.Fprintf(cmd.ErrOrStderr(), "\rsuperposition %s: %d/%d", name, done, total)
		if done == total {
			fmt.Fprintln(cmd.ErrOrStderr())
		}
	}
	res, err := superposition.RunExperiment(cmd.Context(), name, cfg, progress)
	if err != nil {
		return err
	}
	return spWriteOutputs(cmd.OutOrStdout(), out, res)
}

// spWriteOutputs writes results.json and then report.html into dir, each atomically (a
// temporary file renamed into place, so neither is ever half-written), and prints both paths.
// The results are written first and kept even when the report cannot be built or written:
// they may have cost hours, and the error names them.
func spWriteOutputs(w io.Writer, dir string, res *superposition.ExperimentResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	results, html := filepath.Join(dir, "results.json"), filepath.Join(dir, "report.html")
	err = atomicfile.WriteBytes(results, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", results)
	if err := report.WritePage(html, func() (*viz.Report, error) { return report.Superposition(res) }); err != nil {
		return fmt.Errorf("report: %s (results are in %s)", spOneLine(strings.ReplaceAll(err.Error(), "\n", "; ")), results)
	}
	fmt.Fprintf(w, "wrote %s\n", html)
	return nil
}

// spExperimentConfig resolves the experiment's settings with package
// config's rules: MECHINTERP_* variables over the file's keys over the
// ready config, unknown keys rejected. The file may also hold the
// command's flags (out, quick ...), which are read with the flags.
func spExperimentConfig(def []byte, file string) (superposition.ExperimentConfig, error) {
	var cfg superposition.ExperimentConfig
	var extra []string
	for k := range superpositionFlags {
		extra = append(extra, k)
	}
	_, err := config.Load(&cfg, config.Sources{Base: def, BaseName: "ready config", File: file, Extra: extra,
		Doc: "docs/superposition.md"})
	return cfg, err
}

func spOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// spQuick shrinks an experiment for smoke runs.
func spQuick(c *superposition.ExperimentConfig) {
	c.Steps = min(max(c.Steps, 1), 300)
	c.Seeds = min(max(c.Seeds, 1), 2)
	c.Batch = min(max(c.Batch, 1), 256)
	if len(c.Densities) > 3 {
		c.Densities = []float64{c.Densities[0], c.Densities[len(c.Densities)/2], c.Densities[len(c.Densities)-1]}
	}
	if len(c.PhaseImportances) > 3 {
		p := c.PhaseImportances
		c.PhaseImportances = []float64{p[0], p[len(p)/2], p[len(p)-1]}
	}
	if c.Features > 40 {
		c.Features, c.Hidden = 40, max(1, c.Hidden*40/c.Features)
	}
	if len(c.SAEL1) > 2 {
		c.SAEL1 = c.SAEL1[len(c.SAEL1)-2:]
	}
	if len(c.SAEDictSizes) > 1 {
		c.SAEDictSizes = c.SAEDictSizes[:1]
	}
	c.SAESteps = min(max(c.SAESteps, 1), 200)
	c.SAERows = min(max(c.SAERows, 1), 2000)
}
