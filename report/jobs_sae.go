package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
)

// DashboardFlags are the settings shared by the neuron and feature dashboards.
type DashboardFlags struct {
	Model    string   `mapstructure:"model" help:"checkpoint directory (config.json + model.safetensors)"`
	Out      string   `mapstructure:"out" short:"o" help:"HTML dashboard to write"`
	Data     []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Contexts int      `mapstructure:"contexts" default:"256" help:"contexts of n_ctx tokens to read"`
	Seed     uint64   `mapstructure:"seed" default:"3" help:"seed of the corpus windows"`
	JSON     string   `mapstructure:"json" help:"also write the dashboard data to this JSON file"`
}

// FeaturesJob is `mechinterp features`: the feature dashboards of an SAE
// (sae.DashboardJob).
type FeaturesJob struct {
	SAE            string `mapstructure:"sae" help:"SAE directory (SAELens layout)"`
	DashboardFlags `mapstructure:",squash"`
}

// NeuronsJob is `mechinterp neurons`: the neuron dashboards of a layer's MLP.
type NeuronsJob struct {
	Layer          int `mapstructure:"layer" help:"layer whose MLP neurons (blocks.L.mlp.hook_post) to show"`
	DashboardFlags `mapstructure:",squash"`
}

// NewFeaturesJob and NewNeuronsJob are the jobs with their default pages.
func NewFeaturesJob() FeaturesJob {
	return FeaturesJob{DashboardFlags: DashboardFlags{Out: "features.html"}}
}

func NewNeuronsJob() NeuronsJob {
	return NeuronsJob{DashboardFlags: DashboardFlags{Out: "neurons.html"}}
}

// Run writes the dashboards and prints a summary line to w.
func (j FeaturesJob) Run(ctx context.Context, w io.Writer) error {
	if j.SAE == "" && j.Model != "" {
		return errors.New("--sae is required")
	}
	return j.run(ctx, w, j.SAE, "", "Features of "+j.SAE)
}

// Run writes the dashboards and prints a summary line to w.
func (j NeuronsJob) Run(ctx context.Context, w io.Writer) error {
	return j.run(ctx, w, "", models.ActName("mlp_post", j.Layer), "")
}

func (j DashboardFlags) run(ctx context.Context, w io.Writer, saeDir, hook, title string) error {
	if j.Model == "" {
		return errors.New("--model is required")
	}
	db, err := sae.DashboardJob(ctx, j.Model, saeDir, hook, j.Data, j.Contexts, j.Seed)
	if err != nil {
		return config.OneLineErr(err)
	}
	if title == "" {
		title = "Neurons of " + db.Hook
	}
	page, err := Dashboard(db, title)
	if err != nil {
		return err
	}
	if err := page.WriteFile(j.Out); err != nil {
		return err
	}
	if j.JSON != "" {
		if err := atomicfile.WriteJSON(j.JSON, db); err != nil {
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
	fmt.Fprintf(w, "%d %ss over %d tokens; %d with a top-%d concentration, mean entropy %.2f bits -> %s\n",
		len(db.Units), db.Kind, db.Tokens, len(ent), db.K, mean, j.Out)
	return nil
}

// SAEReportJob is `mechinterp sae report`: the neuron and feature dashboards over the
// same tokens and the neurons-vs-features page (WriteSAEReport).
type SAEReportJob struct {
	Model    string   `mapstructure:"model" help:"checkpoint directory (config.json + model.safetensors)"`
	JSON     bool     `mapstructure:"json" help:"print the concentration numbers as JSON"`
	SAE      string   `mapstructure:"sae" help:"SAE directory (SAELens layout)"`
	Out      string   `mapstructure:"out" default:"sae-report" help:"directory to write the pages into"`
	Data     []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Contexts int      `mapstructure:"contexts" default:"256" help:"contexts of n_ctx tokens to read"`
	Seed     uint64   `mapstructure:"seed" default:"3" help:"seed of the corpus windows"`
}

// Run writes the pages and prints the concentration numbers to w.
func (j SAEReportJob) Run(ctx context.Context, w io.Writer) error {
	if j.Model == "" || j.SAE == "" {
		return errors.New("--model and --sae are required")
	}
	features, err := sae.DashboardJob(ctx, j.Model, j.SAE, "", j.Data, j.Contexts, j.Seed)
	if err != nil {
		return config.OneLineErr(err)
	}
	neurons, err := sae.DashboardJob(ctx, j.Model, "", features.Hook, j.Data, j.Contexts, j.Seed)
	if err != nil {
		return config.OneLineErr(err)
	}
	c, err := WriteSAEReport(j.Out, neurons, features, "Neurons and SAE features of "+j.Model, "")
	if err != nil {
		return err
	}
	if j.JSON {
		return PrintJSON(w, c)
	}
	fmt.Fprintf(w, "top-%d entropy of the current token: neurons median %.2f bits (%d units, %.0f%% at least half one token); features median %.2f bits (%d units, %.0f%%)\n-> %s\n",
		c.K, float64(c.MedianNeuron), c.Neurons, 100*c.HalfNeuron, float64(c.MedianFeat), c.Features, 100*c.HalfFeat, j.Out)
	return nil
}
