package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/attention"
)

// RepeatFlags are the repeated random prompts ([BOS] + r + r) of heads and track.
type RepeatFlags struct {
	Len      int    `mapstructure:"len" help:"|r|, the length of the repeated random block (0: min(25, (n_ctx-1)/2))"`
	Batch    int    `mapstructure:"batch" default:"32" help:"number of repeated prompts"`
	Seed     uint64 `mapstructure:"seed" default:"1" help:"seed of the repeated prompts"`
	MinToken int    `mapstructure:"min-token" default:"-1" help:"smallest token id of r (-1: from the run's data, else 0)"`
	MaxToken int    `mapstructure:"max-token" default:"-1" help:"token ids of r are below this (-1: from the run's data, else d_vocab)"`
}

// options are the prompts of f over the default prompts of the run in runDir
// (probes.RepeatForRun).
func (f RepeatFlags) options(runDir string, vocab int) probes.RepeatOptions {
	o := probes.RepeatForRun(runDir, vocab)
	o.Batch, o.Seed, o.Len = f.Batch, f.Seed, f.Len
	if f.MinToken >= 0 {
		o.MinToken = f.MinToken
	}
	if f.MaxToken >= 0 {
		o.MaxToken = f.MaxToken
	}
	return o
}

// HeadsJob is `mechinterp heads`: every head's scores and role (probes.Heads), a page and a
// table.
type HeadsJob struct {
	ModelFlag       `mapstructure:",squash"`
	PageFlags       `mapstructure:",squash" default:"out=heads.html"`
	RepeatFlags     `mapstructure:",squash"`
	Tokens          string `mapstructure:"tokens" help:"detector prompts as token ids, comma-separated; sequences separated by ';'"`
	Text            string `mapstructure:"text" help:"detector prompt as text, encoded with the model directory's tokenizer"`
	ExcludeBOS      bool   `mapstructure:"exclude-bos" help:"detectors ignore attention to position 0"`
	ExcludeDiagonal bool   `mapstructure:"exclude-diagonal" help:"detectors ignore attention of a token to itself"`
}

// Run scores the heads, writes the page and prints the table (or JSON) to w.
func (j HeadsJob) Run(w, errw io.Writer) error {
	m, err := j.loadModel(errw)
	if err != nil {
		return err
	}
	// A checkpoint of a run: RUN/checkpoints/step-N.
	o := probes.HeadOptions{Repeat: j.options(probes.CheckpointRun(j.Model), m.Config.DVocab),
		Detect: probes.DetectOptions{ExcludeBOS: j.ExcludeBOS, ExcludeDiagonal: j.ExcludeDiagonal}}
	if j.Tokens != "" || j.Text != "" {
		seqs, _, err := PromptTokens(m, j.Model, j.Tokens, j.Text)
		if err != nil {
			return err
		}
		if len(seqs[0]) < 2 {
			return errors.New("the detector prompt needs at least 2 tokens")
		}
		for _, s := range seqs {
			o.DetectTokens = append(o.DetectTokens, s...)
		}
		o.DetectBatch = len(seqs)
	}
	s, err := probes.Heads(m, o)
	if err != nil {
		return err
	}
	return j.show(w, func() (*viz.Report, error) { return Heads(s, j.Model) }, HeadsJSON(s),
		func(w io.Writer) { HeadsText(w, s, j.Out) })
}

// TrackJob is `mechinterp track`: the head scores of every checkpoint of a run
// (probes.Track), when induction heads formed, a page.
type TrackJob struct {
	Dir         string  `mapstructure:"-"` // the run directory (RUN_DIR)
	Out         string  `mapstructure:"out" short:"o" help:"HTML report to write (default RUN_DIR/track/track.html)"`
	Workers     int     `mapstructure:"workers" help:"checkpoints probed at once (0: one per core)"`
	Threshold   float64 `mapstructure:"threshold" default:"0.4" help:"prefix-matching score at which an induction head counts as formed"`
	Quiet       bool    `mapstructure:"quiet" help:"no progress on stderr"`
	Revisions   bool    `mapstructure:"revisions" help:"RUN_DIR holds one Hugging Face directory per revision (step1000, step-2000, ...)"`
	RepeatFlags `mapstructure:",squash"`
	JSON        bool `mapstructure:"json" help:"print the result as JSON"`
}

// Run probes the checkpoints not yet probed, writes the page and prints the readout (or
// JSON) to w; progress lines go to errw unless Quiet.
func (j TrackJob) Run(ctx context.Context, w, errw io.Writer) error {
	if !(j.Threshold > 0 && j.Threshold <= 1) {
		return fmt.Errorf("--threshold must be in (0, 1], got %g", j.Threshold)
	}
	o := probes.TrackOptions{Workers: j.Workers, Threshold: j.Threshold, Revisions: j.Revisions}
	o.Heads.Repeat = j.options(j.Dir, 0) // the ICL prompts: Track reads the run's held-out data
	if !j.Quiet {
		o.Progress = TrackProgress(errw)
	}
	res, err := probes.Track(ctx, j.Dir, o)
	if err != nil {
		return err
	}
	if j.Out == "" {
		j.Out = filepath.Join(j.Dir, run.TrackDir, "track.html")
	}
	return show(w, j.Out, func() (*viz.Report, error) { return Track(res) }, j.JSON, res,
		func(w io.Writer) { TrackText(w, res, j.Out) })
}

// CircuitsJob is `mechinterp circuits`: each head explained from its weights
// (circuits.Analyze), a page and a table.
type CircuitsJob struct {
	ModelFlag `mapstructure:",squash"`
	PageFlags `mapstructure:",squash" default:"out=circuits.html"`
	Top       int    `mapstructure:"top" default:"10" help:"how many composition pairs to print"`
	Seed      uint64 `mapstructure:"seed" default:"1" help:"seed of the random composition baseline"`
}

// Run analyses the weights, writes the page and prints the readout (or JSON) to w.
func (j CircuitsJob) Run(w, errw io.Writer) error {
	m, err := j.loadModel(errw)
	if err != nil {
		return err
	}
	a, err := circuits.Analyze(m, j.Seed)
	if err != nil {
		return err
	}
	return show(w, j.Out, func() (*viz.Report, error) { return Circuits(a, j.Model) }, j.JSON,
		map[string]any{"model": j.Model, "heads": a.Heads, "composition": a.Composition, "top_pairs": a.TopPairs(j.Top), "report": j.Out},
		func(w io.Writer) { CircuitsText(w, a, j.Model, j.Top, j.Out) })
}

// AttentionJob is `mechinterp attention`: the attention explorer of one prompt as a
// self-contained page.
type AttentionJob struct {
	PromptFlags `mapstructure:",squash"`
	Out         string `mapstructure:"out" short:"o" default:"attention.html" help:"the page to write"`
	Bits        int    `mapstructure:"bits" help:"precision each weight is stored with: 8, 16, or 0 (16 up to 2^20 weights, else 8)"`
	Roles       bool   `mapstructure:"roles" default:"true" help:"label each head with its role and scores (probes.Heads: runs the model on repeated random tokens)"`
}

// Run writes the page and prints what it wrote to w; warnings go to errw.
func (j AttentionJob) Run(ctx context.Context, w, errw io.Writer) error {
	if j.Out == "" {
		return errors.New("--out is empty")
	}
	m, seqs, tok, err := j.load(errw)
	if err != nil {
		return err
	}
	if len(seqs) != 1 {
		return fmt.Errorf("--tokens: attention shows one prompt; got %d sequences", len(seqs))
	}
	d, err := AttentionData(ctx, m, j.Model, seqs[0], tok, j.Roles, errw)
	if err != nil {
		return err
	}
	r, err := attention.Page(d, attention.Options{Bits: j.Bits})
	if err != nil {
		return err
	}
	if err := r.WriteFile(j.Out); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(j.Out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(w, "wrote %s (%s): %d tokens, %d layers × %d heads; open it in a browser, it needs no network\n",
		j.Out, HumanBytes(size), len(d.Tokens), m.Config.NLayers, m.Config.NHeads)
	return nil
}

// HumanBytes formats a file size for a line of output.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// ServeJob is `mechinterp serve`: the attention explorer as a local web app
// (ServeExplorer).
type ServeJob struct {
	ModelFlag      `mapstructure:",squash"`
	Run            string   `mapstructure:"run" help:"run directory: step through its checkpoints"`
	Addr           string   `mapstructure:"addr" default:"127.0.0.1:8080" help:"address to listen on (port 0: any free port); a non-loopback host makes the server reachable from other machines"`
	Tokens         string   `mapstructure:"tokens" help:"prompt shown at start, as token ids"`
	Text           string   `mapstructure:"text" help:"prompt shown at start, as text"`
	MaxTokens      int      `mapstructure:"max-tokens" default:"512" help:"longest prompt in tokens (also limited by the model's n_ctx)"`
	MaxPromptBytes int      `mapstructure:"max-prompt-bytes" help:"longest prompt in bytes, refused before tokenizing"`
	Bits           int      `mapstructure:"bits" help:"precision each weight is sent with: 8, 16, or 0 (16 up to 2^20 weights, else 8)"`
	Roles          bool     `mapstructure:"roles" default:"true" help:"label each head with its role and scores (probes.Heads, once per checkpoint)"`
	Dashboards     bool     `mapstructure:"dashboards" help:"also serve the MLP neuron dashboards at /dashboards/"`
	SAE            string   `mapstructure:"sae" help:"also serve the feature dashboard of this SAE directory (implies --dashboards)"`
	Data           []string `mapstructure:"data" help:"dashboards' corpus: \"goroot\" (default), or text files and directories"`
	Contexts       int      `mapstructure:"contexts" default:"256" help:"contexts of n_ctx tokens the dashboards read"`
}

// NewServeJob is a ServeJob with the explorer's default prompt limit.
func NewServeJob() ServeJob { return ServeJob{MaxPromptBytes: attention.DefaultMaxPromptBytes} }

// Serve serves the explorer until ctx ends (ServeExplorer); started, if set, receives the
// URL.
func (j ServeJob) Serve(ctx context.Context, w, errw io.Writer, started func(url string)) error {
	if (j.Model == "") == (j.Run == "") {
		return errors.New("give --model DIR or --run RUN_DIR (one of them)")
	}
	if j.MaxTokens <= 0 {
		return fmt.Errorf("--max-tokens must be positive, got %d", j.MaxTokens)
	}
	return ServeExplorer(ctx, w, errw, ExplorerOptions{Model: j.Model, Run: j.Run, Addr: j.Addr,
		Tokens: j.Tokens, Text: j.Text, MaxTokens: j.MaxTokens, MaxPromptBytes: j.MaxPromptBytes, Bits: j.Bits, Roles: j.Roles,
		Tokenize: TokenizePrompt, Started: started,
		Dashboards: j.Dashboards, SAE: j.SAE, DashboardData: j.Data, DashboardContexts: j.Contexts})
}
