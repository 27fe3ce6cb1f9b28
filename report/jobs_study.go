package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/train"
)

// RepeatedJob is `mechinterp repeated`: a repeated-data study (repeated.ExecuteShard),
// resumable and sharded, merged into its table and page (RepeatedReportJob).
type RepeatedJob struct {
	Config      string `mapstructure:"config" help:"YAML study config; its keys replace the default study's"`
	Out         string `mapstructure:"out" help:"study directory (default repeated-study, or runs/<config name>)"`
	Shard       string `mapstructure:"shard" help:"run only shard i/n of the grid (0 <= i < n)"`
	Workers     int    `mapstructure:"workers" help:"runs trained at once (0: one per core)"`
	PrintConfig bool   `mapstructure:"print-config" help:"print the default study config and exit"`
	Quiet       bool   `mapstructure:"quiet" help:"no progress lines on stderr"`
	JSON        bool   `mapstructure:"json" help:"print the analysis as JSON"`
}

// Run runs the shard's unfinished runs, merges whatever results the directory holds and
// prints the summary (or the analysis as JSON) to w; progress lines go to errw unless
// Quiet.
func (j RepeatedJob) Run(ctx context.Context, w, errw io.Writer) error {
	if j.PrintConfig {
		_, err := w.Write(repeated.DefaultConfig)
		return err
	}
	s, err := repeated.LoadStudy(j.Config)
	if err != nil {
		return err
	}
	if j.Out == "" {
		j.Out = "repeated-study"
		if j.Config != "" {
			j.Out = run.DefaultDir(j.Config)
		}
	}
	shard, err := repeated.ParseShard(j.Shard)
	if err != nil {
		return err
	}
	if j.Quiet {
		errw = nil
	}
	tally, runErr := repeated.ExecuteShard(ctx, s, shard, repeated.Options{Dir: j.Out, Workers: j.Workers}, errw)
	if errors.Is(runErr, train.ErrInterrupted) {
		return fmt.Errorf("study interrupted; run the same command again to resume")
	}
	if _, err := os.Stat(filepath.Join(j.Out, repeated.StudyFile)); err != nil {
		return config.OneLineErr(runErr) // nothing was written: the study itself is wrong
	}
	if err := (RepeatedReportJob{Dir: j.Out, JSON: j.JSON}).report(w, s); err != nil && runErr == nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("%d of %d runs failed: %s", tally.Failed, tally.Total, config.OneLine(runErr))
	}
	return nil
}

// RepeatedReportJob is `mechinterp repeated report`: a study directory's results merged
// into its table and page (RepeatedStudy).
type RepeatedReportJob struct {
	Dir  string `mapstructure:"-"` // the study directory
	Out  string `mapstructure:"out" short:"o" help:"HTML report (default DIR/report.html)"`
	JSON bool   `mapstructure:"json" help:"print the analysis as JSON"`
}

// Run merges the results and prints the summary (or the analysis as JSON) to w.
func (j RepeatedReportJob) Run(w io.Writer) error {
	s, err := repeated.ReadStudy(j.Dir)
	if err != nil {
		return err
	}
	return j.report(w, s)
}

func (j RepeatedReportJob) report(w io.Writer, s repeated.Study) error {
	a, page, err := RepeatedStudy(j.Dir, s, j.Out)
	if err != nil {
		return err
	}
	if j.JSON {
		return PrintJSON(w, a)
	}
	RepeatedText(w, a, j.Dir, page)
	return nil
}

// SuperpositionJob is `mechinterp superposition <experiment>`: one experiment of Toy
// Models of Superposition (superposition.RunExperiment) with its results and page.
type SuperpositionJob struct {
	Name        string `mapstructure:"-"` // the experiment (superposition.Experiments)
	Config      string `mapstructure:"config" help:"YAML file overriding the experiment's ready config"`
	Out         string `mapstructure:"out" help:"output directory (default ./superposition-<experiment>)"`
	Quick       bool   `mapstructure:"quick" help:"shrink steps and seeds for a fast smoke run"`
	Steps       int    `mapstructure:"steps" help:"training steps (0: the config's)"`
	Seeds       int    `mapstructure:"seeds" help:"seeds per setting (0: the config's)"`
	Threads     int    `mapstructure:"threads" help:"goroutines (0: all cores)"`
	PrintConfig bool   `mapstructure:"print-config" help:"print the experiment's ready config and exit"`
}

// superpositionKeys are SuperpositionJob's settings, which an experiment's config file
// may also hold (besides the experiment's own keys).
var superpositionKeys = []string{"config", "out", "quick", "steps", "seeds", "threads", "print-config", "help"}

// Run runs the experiment and writes results.json and report.html into Out, printing
// where to w; errw, when it is a terminal (Progress), gets a progress line redrawn in
// place.
func (j SuperpositionJob) Run(ctx context.Context, w, errw io.Writer) error {
	def, err := superposition.ConfigYAML(j.Name)
	if err != nil {
		return err
	}
	if j.PrintConfig {
		_, err := w.Write(def)
		return err
	}
	cfg, err := superposition.LoadExperimentConfig(j.Name, j.Config, superpositionKeys)
	if err != nil {
		return err
	}
	for i, n := range []int{j.Steps, j.Seeds, j.Threads} {
		if n < 0 {
			return fmt.Errorf("--%s must be positive (0: the config's), got %d", []string{"steps", "seeds", "threads"}[i], n)
		}
	}
	if j.Steps > 0 {
		cfg.Steps = j.Steps
	}
	if j.Seeds > 0 {
		cfg.Seeds = j.Seeds
	}
	if j.Threads > 0 {
		cfg.Threads = j.Threads
	}
	if j.Quick {
		cfg.Quick()
	}
	if j.Out == "" {
		j.Out = "superposition-" + j.Name
	}
	var p func(done, total int)
	if progress := Progress(errw, false); progress != nil {
		p = func(done, total int) {
			fmt.Fprintf(progress, "\rsuperposition %s: %d/%d", j.Name, done, total)
			if done == total {
				fmt.Fprintln(progress)
			}
		}
	}
	res, err := superposition.RunExperiment(ctx, j.Name, cfg, p)
	if err != nil {
		return err
	}
	return WriteSuperposition(w, j.Out, res)
}
