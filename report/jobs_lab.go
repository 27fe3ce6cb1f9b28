package report

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz"
)

// PrefsTrainJob is `mechinterp prefs train`: a preference model trained (lab.TrainPrefs)
// into a run directory with its page.
type PrefsTrainJob struct {
	Config    string `mapstructure:"config" help:"YAML file of the run's settings (docs/alignment-lab.md lists the keys)"`
	Out       string `mapstructure:"out" help:"directory to write the model, results.json and index.html into"`
	Objective string `mapstructure:"objective" help:"preference, binary or imitation (default: the config's, preference)"`
	Steps     int    `mapstructure:"steps" help:"training steps (0: the config's)"`
	Init      string `mapstructure:"init" help:"language-model checkpoint to start from (default: a fresh model)"`
	Quiet     bool   `mapstructure:"quiet" help:"no progress lines"`
	JSON      bool   `mapstructure:"json" help:"print the final held-out metrics as JSON"`
}

// Run trains, writes the page and prints the readout (or the final metrics as JSON) to w;
// progress lines go to errw unless Quiet.
func (j PrefsTrainJob) Run(w, errw io.Writer) error {
	cfg, err := lab.LoadPrefsConfig(j.Config)
	if err != nil {
		return err
	}
	if j.Objective != "" {
		if cfg.Train.Objective, err = lab.ParseObjective(j.Objective); err != nil {
			return err
		}
	}
	if j.Steps != 0 {
		cfg.Train.Steps = j.Steps
		cfg.Train.EvalEvery, cfg.Train.Warmup = 0, 0
		cfg.Train = cfg.Train.WithDefaults()
	}
	if j.Init != "" {
		cfg.Init = j.Init
	}
	if j.Out == "" {
		return errors.New("--out is required (the run's directory)")
	}
	res, _, err := lab.TrainPrefs(cfg, j.Out, func(m lab.Metrics) {
		if !j.Quiet {
			fmt.Fprintf(errw, "step %d: loss %.4f accuracy %.3f ECE %.3f\n", m.Step, m.Loss, m.Accuracy, m.ECE)
		}
	})
	if err != nil {
		return err
	}
	return PrefsReportJob{Dir: j.Out, JSON: j.JSON}.show(w, res)
}

// PrefsReportJob is `mechinterp prefs report`: a preference-model run's page redrawn from
// its results.json.
type PrefsReportJob struct {
	Dir  string `mapstructure:"-"` // the run directory
	JSON bool   `mapstructure:"json" help:"print the final held-out metrics as JSON"`
}

// Run redraws the page and prints the readout (or the final metrics as JSON) to w.
func (j PrefsReportJob) Run(w io.Writer) error {
	res, err := lab.ReadPrefsResult(j.Dir)
	if err != nil {
		return err
	}
	return j.show(w, res)
}

func (j PrefsReportJob) show(w io.Writer, res *lab.PrefsResult) error {
	page := filepath.Join(j.Dir, lab.ReportFile)
	return show(w, page, func() (*viz.Report, error) { return Prefs(res) }, j.JSON, res.History.Final,
		func(w io.Writer) { PrefsText(w, res, page) })
}

// PrefsStudyJob is `mechinterp prefs study`: accuracy against model size per objective and
// against finetuning comparisons (lab.RunStudy), resumable and sharded, with its page.
type PrefsStudyJob struct {
	Config string `mapstructure:"config" help:"YAML file of the study's settings (docs/alignment-lab.md lists the keys)"`
	Out    string `mapstructure:"out" help:"the study's directory"`
	Shard  string `mapstructure:"shard" default:"0/1" help:"run the cells whose index is i mod n"`
	JSON   bool   `mapstructure:"json" help:"print the finished cells as JSON"`
}

// Run runs the shard's unfinished cells, writes the page of the finished ones and prints
// the readout (or JSON) to w; progress goes to errw.
func (j PrefsStudyJob) Run(w, errw io.Writer) error {
	if j.Out == "" {
		return errors.New("--out is required (the study's directory)")
	}
	var i, n int
	if _, err := fmt.Sscanf(j.Shard, "%d/%d", &i, &n); err != nil {
		return fmt.Errorf("--shard %q: want i/n, such as 0/1", j.Shard)
	}
	cfg, err := lab.LoadStudyConfig(j.Config)
	if err != nil {
		return err
	}
	rows, err := lab.RunStudy(cfg, j.Out, i, n, errw)
	if err != nil {
		return err
	}
	page := filepath.Join(j.Out, lab.ReportFile)
	return show(w, page, func() (*viz.Report, error) { return PrefsStudy(cfg.WithDefaults(), rows) }, j.JSON, rows,
		func(w io.Writer) { PrefsStudyText(w, rows, cfg.WithDefaults().EvalComparisons, page) })
}

// AttributeJob is `mechinterp prefs attribute`: a preference model's rewards decomposed
// into components (lab.RunAttribute), a page and a table.
type AttributeJob struct {
	PM        string `mapstructure:"pm" help:"preference model directory (prefs train's RUN/model)"`
	N         int    `mapstructure:"n" default:"200" help:"held-out comparisons of the synthetic task"`
	TaskSeed  uint64 `mapstructure:"task-seed" default:"1" help:"the synthetic task's seed"`
	PageFlags `mapstructure:",squash" default:"out=attribution.html"`
}

// Run attributes, writes the page and prints the readout (or JSON) to w.
func (j AttributeJob) Run(w io.Writer) error {
	if j.PM == "" {
		return errors.New("--pm is required (prefs train's RUN/model)")
	}
	a, err := lab.RunAttribute(j.PM, lab.SyntheticConfig{Seed: j.TaskSeed}, j.N)
	if err != nil {
		return err
	}
	return j.show(w, func() (*viz.Report, error) { return Attribution(a, j.PM) }, a,
		func(w io.Writer) { AttributionText(w, a, j.Out) })
}

// BestOfNJob is `mechinterp bestofn`: best-of-n sampling scored by a preference model
// (lab.RunBestOfN), a page and a table.
type BestOfNJob struct {
	Policy      string `mapstructure:"policy" help:"policy checkpoint to sample from"`
	PM          string `mapstructure:"pm" help:"preference model directory (prefs train's RUN/model)"`
	Prompts     int    `mapstructure:"prompts" default:"32" help:"held-out prompts"`
	Samples     int    `mapstructure:"samples" default:"256" help:"continuations per prompt (the largest n)"`
	SampleFlags `mapstructure:",squash"`
	TaskSeed    uint64 `mapstructure:"task-seed" default:"1" help:"the synthetic task's seed (prefs train's default is 1)"`
	PageFlags   `mapstructure:",squash" default:"out=bestofn.html"`
}

// Run samples, writes the page and prints the readout (or JSON) to w.
func (j BestOfNJob) Run(w io.Writer) error {
	if j.Policy == "" || j.PM == "" {
		return errors.New("--policy and --pm are required")
	}
	res, err := lab.RunBestOfN(j.Policy, j.PM, lab.BestOfNConfig{Prompts: j.Prompts, Samples: j.Samples,
		Temperature: j.Temperature, TopK: j.TopK, TopP: j.TopP, Seed: j.Seed, Task: lab.SyntheticConfig{Seed: j.TaskSeed}})
	if err != nil {
		return err
	}
	return j.show(w, func() (*viz.Report, error) { return BestOfN(res) }, res,
		func(w io.Writer) { BestOfNText(w, res, j.Out) })
}

// OODJob is `mechinterp ood`: out-of-distribution detection on activations by layer
// (lab.RunOOD), a page and a table.
type OODJob struct {
	ModelFlag  `mapstructure:",squash"`
	In         string  `mapstructure:"in" help:"in-distribution inputs, one per line (half fitted unless --fit is given)"`
	OOD        string  `mapstructure:"ood" help:"out-of-distribution inputs, one per line"`
	Fit        string  `mapstructure:"fit" help:"inputs to fit the in-distribution Gaussian to"`
	Background string  `mapstructure:"background" help:"background inputs for the relative Mahalanobis distance"`
	Outliers   string  `mapstructure:"outliers" help:"a few labelled out-of-distribution inputs, for few-shot outlier exposure"`
	IDs        bool    `mapstructure:"ids" help:"files hold comma-separated token ids instead of text"`
	Hook       string  `mapstructure:"hook" default:"resid_post" help:"activation read at every layer (resid_post, resid_pre, attn_out, mlp_out ...)"`
	Pool       string  `mapstructure:"pool" default:"mean" help:"mean or last: how positions are pooled"`
	Shrinkage  float64 `mapstructure:"shrinkage" default:"0.01" help:"covariance shrinkage towards a scaled identity, in [0,1]"`
	N          int     `mapstructure:"n" default:"1000" help:"built-in sets: inputs to fit on (held-out sets are half as large)"`
	TaskSeed   uint64  `mapstructure:"task-seed" default:"1" help:"built-in sets: the synthetic task's seed"`
	PageFlags  `mapstructure:",squash" default:"out=ood.html"`
}

// Run scores the sets, writes the page and prints the readout (or JSON) to w.
func (j OODJob) Run(w io.Writer) error {
	if j.Model == "" {
		return errors.New("--model is required")
	}
	files := lab.OODFiles{Fit: j.Fit, Background: j.Background, Outliers: j.Outliers, In: j.In, Out: j.OOD, IDs: j.IDs}
	cfg := probes.OODConfig{Hook: j.Hook, Pool: j.Pool, Shrinkage: j.Shrinkage}
	res, data, err := lab.RunOOD(j.Model, files, lab.SyntheticConfig{Seed: j.TaskSeed}, j.N, cfg)
	if err != nil {
		return err
	}
	return j.show(w, func() (*viz.Report, error) { return OOD(res, j.Model, data) }, res,
		func(w io.Writer) { OODText(w, res, data, j.Out) })
}
