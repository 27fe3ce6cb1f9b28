package main

import (
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/sae"
)

func init() { subcommands = append(subcommands, newFeaturesCmd, newNeuronsCmd) }

func addDashboardFlags(cmd *cobra.Command, page string) {
	addModelFlag(cmd)
	addOutFlag(cmd, page, "HTML dashboard to write")
	f := cmd.Flags()
	f.StringSlice("data", []string{data.KindGoroot}, `corpus: "goroot", or text files and directories`)
	f.Int("contexts", 256, "contexts of n_ctx tokens to read")
	f.Uint64("seed", 3, "seed of the corpus windows")
	f.String("json", "", "also write the dashboard data to this JSON file")
	addFlagFile(cmd)
}

func newFeaturesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "features --model DIR --sae SAE_DIR [-o features.html]",
		Short: "Feature dashboards of an SAE: top contexts, activation bands, histogram, logit effects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDashboard(cmd, true)
		},
	}
	cmd.Flags().String("sae", "", "SAE directory (SAELens layout)")
	addDashboardFlags(cmd, "features.html")
	return cmd
}

func newNeuronsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "neurons --model DIR --layer L [-o neurons.html]",
		Short: "Neuron dashboards of a layer's MLP: top contexts, activation bands, histogram, logit effects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDashboard(cmd, false)
		},
	}
	cmd.Flags().Int("layer", 0, "layer whose MLP neurons (blocks.L.mlp.hook_post) to show")
	addDashboardFlags(cmd, "neurons.html")
	return cmd
}

func runDashboard(cmd *cobra.Command, features bool) error {
	v, err := settings(cmd)
	if err != nil {
		return err
	}
	model := v.GetString("model")
	if model == "" {
		return fmt.Errorf("--model is required")
	}
	saeDir, hook := "", ""
	if features {
		if saeDir = v.GetString("sae"); saeDir == "" {
			return fmt.Errorf("--sae is required")
		}
	} else {
		hook = models.ActName("mlp_post", v.GetInt("layer"))
	}
	db, err := sae.DashboardJob(cmd.Context(), model, saeDir, hook, v.GetStringSlice("data"), v.GetInt("contexts"), v.GetUint64("seed"))
	if err != nil {
		return oneLineErr(err)
	}
	title := "Neurons of " + db.Hook
	if features {
		title = "Features of " + saeDir
	}
	page, err := report.Dashboard(db, title)
	if err != nil {
		return err
	}
	if err := page.WriteFile(v.GetString("out")); err != nil {
		return err
	}
	if js := v.GetString("json"); js != "" {
		if err := atomicfile.WriteJSON(js, db); err != nil {
			return err
		}
	}
	ent := db.Entropies()
	var sum float64
	for _, e := range ent {
		sum += e
	}
	mean := math.NaN()
	if len(ent) > 0 {
		mean = sum / float64(len(ent))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%d %ss over %d tokens; %d with a top-%d concentration, mean entropy %.2f bits -> %s\n",
		len(db.Units), db.Kind, db.Tokens, len(ent), db.K, mean, v.GetString("out"))
	return nil
}
