package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// TrainJob is `mechinterp train`: a training run from its config file (run.StartFile).
type TrainJob struct {
	Config string `mapstructure:"config" help:"YAML run config (model:, data:, train:)"`
	Out    string `mapstructure:"out" help:"run directory (default runs/<config name>)"` // also the file's run.OutKey
	Resume bool   `mapstructure:"resume" help:"continue from the latest checkpoint in the run directory"`
	Quiet  bool   `mapstructure:"quiet" help:"no progress bar"`
}

// Run trains (or resumes) and prints what it did to w; the progress bar goes to errw
// when it is a terminal (Progress).
func (j TrainJob) Run(ctx context.Context, w, errw io.Writer) error {
	if j.Out == "" {
		j.Out = run.DefaultDir(j.Config)
	}
	res, err := run.StartFile(ctx, j.Config, j.Out, run.Options{Resume: j.Resume, Progress: Progress(errw, j.Quiet)})
	if errors.Is(err, train.ErrInterrupted) {
		return fmt.Errorf("%w; continue with --resume --out %s", err, j.Out)
	}
	if err != nil {
		return config.OneLineErr(err)
	}
	TrainText(w, res)
	return nil
}

// DemoJob is `mechinterp demo` (Demo).
type DemoJob struct {
	Out   string `mapstructure:"out" default:"mechinterp-demo" help:"run directory"`
	Quiet bool   `mapstructure:"quiet" help:"no progress bar"`
	Steps int    `mapstructure:"steps" hidden:"true" help:"training steps (0: the recipe's)"`
}

// Run runs the demo, printing to w and progress to errw (Progress).
func (j DemoJob) Run(ctx context.Context, w, errw io.Writer) error {
	_, err := Demo(ctx, j.Out, w, DemoOptions{Steps: j.Steps, Progress: Progress(errw, j.Quiet)})
	return err
}

// NeuronsDemoJob is `mechinterp demo neurons` (NeuronsDemo).
type NeuronsDemoJob struct {
	Out      string `mapstructure:"out" default:"mechinterp-neurons" help:"demo directory"`
	Quiet    bool   `mapstructure:"quiet" help:"no progress"`
	Steps    int    `mapstructure:"steps" help:"model training steps (0: 1200)"`
	SAESteps int    `mapstructure:"sae-steps" help:"SAE training steps (0: 1500)"`
	Contexts int    `mapstructure:"contexts" help:"contexts the dashboards read (0: 256)"`
}

// Run runs the demo, printing to w and progress to errw (Progress).
func (j NeuronsDemoJob) Run(ctx context.Context, w, errw io.Writer) error {
	_, err := NeuronsDemo(ctx, j.Out, w, NeuronsDemoOptions{Steps: j.Steps, SAESteps: j.SAESteps, Contexts: j.Contexts,
		Progress: Progress(errw, j.Quiet)})
	return err
}

// TokenizerJob is `mechinterp tokenizer train`: a byte-level BPE learnt from a corpus
// (data.TrainTokenizer) and saved in GPT-2's format.
type TokenizerJob struct {
	Data     []string `mapstructure:"data" default:"goroot" help:"corpus: \"goroot\", or text files and directories"`
	Vocab    int      `mapstructure:"vocab" default:"4096" help:"vocabulary size, <|endoftext|> included"`
	MaxBytes int64    `mapstructure:"max-bytes" help:"stop reading the corpus after this many bytes (0: all)"`
	Out      string   `mapstructure:"out" help:"directory to write vocab.json and merges.txt into"`
}

// Run learns and saves the tokenizer and prints what it read and made to w.
func (j TokenizerJob) Run(ctx context.Context, w io.Writer) error {
	dc, err := data.CorpusConfig(j.Data)
	if err != nil {
		return err
	}
	if j.Out == "" {
		return errors.New("--out is required")
	}
	tr, st, err := data.TrainTokenizer(ctx, dc, j.Vocab, j.MaxBytes)
	if err != nil {
		return config.OneLineErr(err)
	}
	bpe, err := tr.Save(j.Out)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "read %d files (%s, %d distinct chunks); %d tokens, %d merges -> %s\n",
		st.Files, HumanBytes(st.Bytes), st.Chunks, bpe.VocabSize(), bpe.NumMerges(), j.Out)
	return nil
}
