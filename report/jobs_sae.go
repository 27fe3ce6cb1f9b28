package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/internal/stats"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
)

// CorpusFlags are the model and the corpus windows a dashboard reads
// (sae.DashboardJob): the settings of the dashboards and of sae report.
type CorpusFlags struct {
	ModelFlag `mapstructure:",squash"`
	Data      []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Contexts  int      `mapstructure:"contexts" default:"256" help:"contexts of n_ctx tokens to read"`
	Seed      uint64   `mapstructure:"seed" default:"3" help:"seed of the corpus windows"`
}

// dashboard reads the corpus through the model and returns the dashboards of the SAE in
// saeDir, or with saeDir "" of hook's neurons (sae.DashboardJob).
func (c CorpusFlags) dashboard(ctx context.Context, saeDir, hook string) (*sae.Dashboard, error) {
	db, err := sae.DashboardJob(ctx, c.Model, saeDir, hook, c.Data, c.Contexts, c.Seed)
	if err != nil {
		return nil, config.OneLineErr(err)
	}
	return db, nil
}

// DashboardFlags are the settings shared by the neuron and feature dashboards.
type DashboardFlags struct {
	CorpusFlags `mapstructure:",squash"`
	Out         string `mapstructure:"out" short:"o" help:"HTML dashboard to write"`
	JSON        string `mapstructure:"json" help:"also write the dashboard data to this JSON file"`
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
	db, err := j.dashboard(ctx, saeDir, hook)
	if err != nil {
		return err
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
	fmt.Fprintf(w, "%d %ss over %d tokens; %d with a top-%d concentration, mean entropy %.2f bits -> %s\n",
		len(db.Units), db.Kind, db.Tokens, len(ent), db.K, stats.Mean(ent), j.Out)
	return nil
}

// SAEReportJob is `mechinterp sae report`: the neuron and feature dashboards over the
// same tokens and the neurons-vs-features page (WriteSAEReport).
type SAEReportJob struct {
	CorpusFlags `mapstructure:",squash"`
	JSON        bool   `mapstructure:"json" help:"print the concentration numbers as JSON"`
	SAE         string `mapstructure:"sae" help:"SAE directory (SAELens layout)"`
	Out         string `mapstructure:"out" default:"sae-report" help:"directory to write the pages into"`
}

// Run writes the pages and prints the concentration numbers to w.
func (j SAEReportJob) Run(ctx context.Context, w io.Writer) error {
	if j.Model == "" || j.SAE == "" {
		return errors.New("--model and --sae are required")
	}
	features, err := j.dashboard(ctx, j.SAE, "")
	if err != nil {
		return err
	}
	neurons, err := j.dashboard(ctx, "", features.Hook)
	if err != nil {
		return err
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

// SAETrainJob is `mechinterp sae train`: an SAE trained on one hook point's activations
// over a corpus (sae.Job) and saved in SAELens's layout.
type SAETrainJob struct {
	ModelFlag `mapstructure:",squash"`
	Hook      string   `mapstructure:"hook" help:"hook point, e.g. blocks.0.mlp.hook_post"`
	Data      []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Arch      string   `mapstructure:"arch" default:"topk" help:"architecture: relu (L1 penalty), topk, batchtopk or jumprelu (L0 penalty)"`
	K         int      `mapstructure:"k" default:"32" help:"active features per token (topk; batchtopk: on average)"`
	AuxK      float64  `mapstructure:"auxk" default:"0" help:"AuxK coefficient for dead latents (topk, batchtopk; Gao et al. use 1/32)"`
	LRWarmup  int      `mapstructure:"lr-warmup" default:"0" help:"steps of linear learning-rate warm-up"`
	LRSched   string   `mapstructure:"lr-schedule" default:"constant" help:"after the warm-up: constant or cosineannealing (to lr/10)"`
	LRDecay   int      `mapstructure:"lr-decay" default:"0" help:"final steps of linear decay to lr/10"`
	L1Warmup  int      `mapstructure:"l1-warmup" default:"0" help:"steps of linear warm-up of the sparsity coefficient"`
	CkptDir   string   `mapstructure:"checkpoint-dir" help:"write the training state here every --checkpoint-every steps; a rerun with the same settings resumes from it exactly"`
	CkptEvery int      `mapstructure:"checkpoint-every" default:"0" help:"steps between checkpoints (0: steps/10)"`
	Width     int      `mapstructure:"width" default:"2048" help:"dictionary size d_sae"`
	L1        float64  `mapstructure:"l1" default:"1e-3" help:"sparsity coefficient (relu: L1; jumprelu: L0)"`
	Steps     int      `mapstructure:"steps" default:"3000" help:"training steps"`
	Batch     int      `mapstructure:"batch" default:"256" help:"activations per step"`
	LR        float64  `mapstructure:"lr" default:"1e-3" help:"Adam learning rate"`
	Buffer    int      `mapstructure:"buffer" default:"65536" help:"shuffle buffer rows (memory: rows x width x 4 bytes)"`
	Normalize bool     `mapstructure:"normalize" default:"true" help:"scale activations to E||x|| = sqrt(d) (folded into the saved weights)"`
	Seed      uint64   `mapstructure:"seed" default:"1" help:"seed of the corpus windows, the shuffle and the initial dictionary"`
	Out       string   `mapstructure:"out" help:"SAE directory to write"`
	CacheDir  string   `mapstructure:"cache-dir" help:"activation cache: write the activations as safetensors shards here, or read them back from an earlier run of the same model, hook and corpus"`
	Quiet     bool     `mapstructure:"quiet" help:"no progress on stderr"`
}

// Run trains and saves the SAE and prints its metrics to w; progress goes to errw
// (Progress).
func (j SAETrainJob) Run(ctx context.Context, w, errw io.Writer) error {
	job := sae.Job{Model: j.Model, Data: j.Data, Out: j.Out,
		Store: sae.StoreConfig{Hook: j.Hook, Buffer: j.Buffer, Normalize: j.Normalize, Seed: j.Seed, Cache: sae.CacheConfig{Dir: j.CacheDir}},
		SAE: sae.Config{Architecture: sae.Architecture(j.Arch), K: j.K, DictSize: j.Width,
			L1: j.L1, Steps: j.Steps, Batch: j.Batch, LR: j.LR, Seed: j.Seed,
			AuxK: j.AuxK, LRWarmup: j.LRWarmup, LRSchedule: j.LRSched, LRDecay: j.LRDecay, L1Warmup: j.L1Warmup,
			CheckpointDir: j.CkptDir, CheckpointEvery: j.CkptEvery}}
	if j.Model == "" || j.Out == "" || j.Hook == "" {
		return errors.New("--model, --hook and --out are required")
	}
	res, err := job.Train(ctx, Progress(errw, j.Quiet))
	if err != nil {
		return config.OneLineErr(err)
	}
	fmt.Fprintf(w, "%s SAE, %d features: l0 %.2f  explained_variance %.4f (%d held-out rows)  dead %d (over the last %d training rows)  -> %s\n",
		res.Config.Architecture, res.Config.DictSize, res.L0, res.FVE, res.Config.EvalRows, res.Dead, res.Config.DeadWindow, j.Out)
	return nil
}

// SAEEvalJob is `mechinterp sae eval`: an SAE scored on a model (sae.EvalJob).
type SAEEvalJob struct {
	ModelFlag `mapstructure:",squash"`
	JSON      bool     `mapstructure:"json" help:"print the metrics as JSON"`
	SAE       string   `mapstructure:"sae" help:"SAE directory (SAELens layout)"`
	Data      []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Batches   int      `mapstructure:"batches" default:"16" help:"batches of 8 contexts to evaluate on"`
	Seed      uint64   `mapstructure:"seed" default:"2" help:"seed of the corpus windows (training uses 1)"`
}

// Run scores the SAE and prints its metrics (or JSON) to w.
func (j SAEEvalJob) Run(ctx context.Context, w io.Writer) error {
	if j.Model == "" || j.SAE == "" {
		return errors.New("--model and --sae are required")
	}
	m, err := sae.EvalJob(ctx, j.Model, j.SAE, j.Data, j.Batches, j.Seed)
	if err != nil {
		return config.OneLineErr(err)
	}
	if j.JSON {
		out := *m
		out.Density = nil
		return PrintJSON(w, out)
	}
	fmt.Fprintf(w, "tokens %d\nl0 %.3f\nexplained_variance %.4f\nmse %.6g\nce_loss_score %.4f  (clean %.4f, with SAE %.4f, zero-ablated %.4f)\nkl %.5f\ndead %d (no activation in %d tokens)\ndense %d (density > %g)\n",
		m.Tokens, m.L0, m.ExplainedVariance, m.MSE, m.CELossScore, m.CEClean, m.CEWithSAE, m.CEZeroAblation, m.KL, m.Dead, m.Tokens, m.Dense, m.DenseThreshold)
	return nil
}
