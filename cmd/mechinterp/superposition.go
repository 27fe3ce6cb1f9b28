package main

import (
	"fmt"
	"strings"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/superposition"
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
	var extra []string
	for k := range superpositionFlags {
		extra = append(extra, k)
	}
	cfg, err := superposition.LoadExperimentConfig(name, cmd.Flags().Lookup("config").Value.String(), extra)
	if err != nil {
		return err
	}
	for _, f := range []string{"steps", "seeds", "threads"} {
		if n := v.GetInt(f); n < 0 {
			return fmt.Errorf("--%s must be positive (0: the config's), got %d", f, n)
		}
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
		cfg.Quick()
	}
	out := v.GetString("out")
	if out == "" {
		out = "superposition-" + name
	}
	// A line redrawn in place: on a terminal only, so logs get no \r clutter.
	var progress func(done, total int)
	if w := progressWriter(cmd.ErrOrStderr(), false); w != nil {
		progress = func(done, total int) {
			fmt.Fprintf(w, "\rsuperposition %s: %d/%d", name, done, total)
			if done == total {
				fmt.Fprintln(w)
			}
		}
	}
	res, err := superposition.RunExperiment(cmd.Context(), name, cfg, progress)
	if err != nil {
		return err
	}
	return report.WriteSuperposition(cmd.OutOrStdout(), out, res)
}
