package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/train"
)

// Names in a run directory.
const (
	ConfigFile     = "run.yaml"           // the resolved Config
	MetricsFile    = train.MetricsFile    // one JSON object per step
	CheckpointsDir = train.CheckpointsDir // step-NNNNNN/ per checkpoint
	TrackDir       = "track"              // probe scores per checkpoint
	ReportsDir     = "reports"            // pages about the run
	IndexFile      = "index.html"         // the page linking the reports
	// LegacyConfigFile is the settings record of a repeated-data study run
	// written before runs recorded their config in run.yaml. [ReadConfig]
	// still reads it, so that old study directories resume and report.
	LegacyConfigFile = "run.json"
)

// Options configure [Start] and [Resume].
type Options struct {
	// Resume continues from the latest checkpoint in the directory (from
	// scratch when there is none). Without it a directory that already holds
	// checkpoints is an error.
	Resume bool
	// Progress receives the progress bar (nil: none); see train.Options.
	Progress io.Writer
	// OnStep, if set, is called with each metrics line.
	OnStep func(train.Metrics)
}

// Start trains the run c in dir: it builds the model and the data, writes
// the resolved config to dir/run.yaml and trains (train.Run), writing
// metrics and checkpoints into dir. With a repeated-data mixture the budget
// and the held-out set default to what the run reads (see docs/training.md)
// and the held-out loss is taken on the mixture's held-out set; otherwise
// on the stream of [HeldOutData]. Without o.Resume a directory that holds
// checkpoints is refused before anything in it changes. When ctx is
// cancelled the run saves a checkpoint and the error wraps
// train.ErrInterrupted.
func Start(ctx context.Context, dir string, c Config, o Options) (*train.Result, error) {
	p, err := Prepare(c)
	if err != nil {
		return nil, err
	}
	// Refuse before run.yaml is rewritten: it describes the checkpoints.
	if cp, ok, err := train.Latest(dir); err != nil {
		return nil, err
	} else if ok && !o.Resume {
		return nil, fmt.Errorf("train: %s already holds checkpoints (latest %s); resume it or choose another directory", dir, cp.Dir)
	} else if ok && exists(filepath.Join(dir, ConfigFile)) {
		if err := sameRecorded(dir, p.Config); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := WriteConfig(dir, p.Config); err != nil {
		return nil, err
	}
	return train.Run(ctx, p.Options(dir, o))
}

// StartFile trains the run of the config file in dir, as Start; file ""
// means the defaults, except that with o.Resume it means the config the run
// in dir recorded (Resume), so that `--resume --out DIR` continues DIR as
// it was.
func StartFile(ctx context.Context, file, dir string, o Options) (*train.Result, error) {
	if o.Resume && file == "" && exists(filepath.Join(dir, ConfigFile)) {
		return Resume(ctx, dir, o)
	}
	c, err := LoadConfig(file)
	if err != nil {
		return nil, err
	}
	return Start(ctx, dir, c, o)
}

// Resume continues the run in dir with the config it recorded (run.yaml).
func Resume(ctx context.Context, dir string, o Options) (*train.Result, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	o.Resume = true
	return Start(ctx, dir, c, o)
}

// Prepared is a run built from its config, ready to train.
type Prepared struct {
	// Config is resolved: d_vocab and a mixture's sizes filled in.
	Config Config
	Model  *models.Model
	// Data is the training stream; Mixture is it when it is a
	// repeated-data mixture (else nil).
	Data    data.Source
	Mixture *data.Mixture
	// HeldOut is the held-out stream (nil when train.eval_every is 0).
	HeldOut data.Source
}

// Prepare builds c's data and a freshly initialized model.
func Prepare(c Config) (*Prepared, error) {
	if err := c.resolveMixture(); err != nil {
		return nil, err
	}
	src, err := newData(c.Data)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Data: src}
	p.Mixture, _ = src.(*data.Mixture)
	if c.Model.DVocab == 0 {
		c.Model.DVocab = src.Vocab()
	}
	if c.Model.DVocab < src.Vocab() {
		return nil, fmt.Errorf("config: model.d_vocab %d is smaller than the data's vocabulary %d", c.Model.DVocab, src.Vocab())
	}
	if p.Model, err = models.New(c.Model); err != nil {
		return nil, err
	}
	c.Model = p.Model.Config
	p.Config = c
	if c.Train.EvalEvery > 0 {
		if p.HeldOut, err = heldOut(c.Data, p.Mixture); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Options are the train.Options that train p in dir.
func (p *Prepared) Options(dir string, o Options) train.Options {
	to := train.Options{Model: p.Model, Config: p.Config.Train, Dir: dir, Train: data.NewPairs(p.Data),
		Resume: o.Resume, Progress: o.Progress, OnStep: o.OnStep, CheckpointFiles: TokenizerFiles(p.Config.Data)}
	if p.HeldOut != nil {
		to.Eval = data.NewPairs(p.HeldOut)
	}
	return to
}

// TokenizerFiles are the files of the BPE tokenizer a run's text data
// reads (vocab.json and merges.txt), which every checkpoint of the run
// carries, so that commands given a checkpoint tokenize text as the run
// did; nil for the byte tokenizer and token sources without text.
func TokenizerFiles(dc data.Config) []string {
	dc = dc.WithDefaults()
	var tok string
	switch dc.Kind {
	case data.KindText:
		tok = dc.Text.Tokenizer
	case data.KindGoroot:
		tok = dc.Goroot.Tokenizer
	}
	if tok == "" || tok == data.TokenizerByte {
		return nil
	}
	return []string{filepath.Join(tok, tokenizer.VocabFile), filepath.Join(tok, tokenizer.MergesFile)}
}

// HeldOutSeed is the seed of a run's held-out stream: the data seed with
// its bits mixed by a fixed constant, so that it never equals the training
// stream.
func HeldOutSeed(seed uint64) uint64 { return seed ^ 0x5eed_0f_4e1d_0e17 }

// HeldOutData is the config of the held-out stream of a run trained on dc:
// the same source under [HeldOutSeed]. (A repeated-data mixture holds its
// held-out set out of its own stream instead; see [HeldOut].)
func HeldOutData(dc data.Config) data.Config {
	dc.Seed = HeldOutSeed(dc.Seed)
	return dc
}

// HeldOut returns the held-out stream of a run trained on dc, from its
// start: the mixture's held-out set for a repeated-data mixture, else the
// stream of [HeldOutData].
func HeldOut(dc data.Config) (data.Source, error) {
	if dc.Mixture.Fraction <= 0 && dc.Mixture.Sequences == 0 {
		return heldOut(dc, nil)
	}
	src, err := newData(dc)
	if err != nil {
		return nil, err
	}
	mix, _ := src.(*data.Mixture)
	return heldOut(dc, mix)
}

// newData builds a run's training stream. A run with a mixture budget
// (data.mixture.sequences, filled in when fraction > 0) draws from the
// mixture also at fraction 0: every sequence unique, the held-out set held
// out of the same source, as the baseline of a repeated-data study.
func newData(dc data.Config) (data.Source, error) {
	if dc.Mixture.Fraction > 0 || dc.Mixture.Sequences > 0 {
		return data.NewMixtureFrom(dc)
	}
	return data.New(dc)
}

func heldOut(dc data.Config, mix *data.Mixture) (data.Source, error) {
	if mix != nil {
		return mix.HeldOut(), nil
	}
	return data.New(HeldOutData(dc))
}

// Run is a run directory read back by [Open].
type Run struct {
	Dir string
	// Config is what the run was trained with; nil when the directory has
	// no run.yaml (a series of checkpoints made elsewhere).
	Config *Config
	// Checkpoints are the checkpoints by step; Metrics the log (nil when
	// there is none).
	Checkpoints []train.Checkpoint
	Metrics     []train.Metrics
}

// Open reads the run directory dir. A directory without run.yaml or
// metrics.jsonl opens (with Config or Metrics nil); a missing directory,
// an unreadable config or log, or a malformed checkpoint name is an error.
func Open(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("run directory %s does not exist", dir)
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("%s is a file, not a run directory", dir)
	}
	r := &Run{Dir: dir}
	if exists(filepath.Join(dir, ConfigFile)) || exists(filepath.Join(dir, LegacyConfigFile)) {
		c, err := ReadConfig(dir)
		if err != nil {
			return nil, err
		}
		r.Config = &c
	}
	if r.Checkpoints, err = train.Checkpoints(dir); err != nil {
		return nil, err
	}
	if exists(filepath.Join(dir, MetricsFile)) {
		if r.Metrics, err = train.ReadMetrics(filepath.Join(dir, MetricsFile)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// HeldOutData is the config of the run's held-out stream (see the function
// [HeldOutData]); nil when the run has no config.
func (r *Run) HeldOutData() *data.Config {
	if r.Config == nil {
		return nil
	}
	dc := HeldOutData(r.Config.Data)
	return &dc
}

// HeldOut returns the held-out stream the run was evaluated on, from its
// start (see the function [HeldOut]).
func (r *Run) HeldOut() (data.Source, error) {
	if r.Config == nil {
		return nil, fmt.Errorf("%s has no %s: its held-out data is unknown", r.Dir, ConfigFile)
	}
	return HeldOut(r.Config.Data)
}

// Latest is the last checkpoint, or false when there is none.
func (r *Run) Latest() (train.Checkpoint, bool) {
	if len(r.Checkpoints) == 0 {
		return train.Checkpoint{}, false
	}
	return r.Checkpoints[len(r.Checkpoints)-1], true
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lossShaping are the train: keys a resumed run must keep (train's
// sameArithmetic checks the same); the others (evaluation, checkpoints,
// logging) may change.
var lossShaping = []string{"steps", "batch_size", "seq_len", "lr", "min_lr", "warmup", "weight_decay", "decay",
	"beta1", "beta2", "eps", "grad_clip", "seed"}

// sameRecorded refuses to resume the run in dir with a model, data or
// loss-shaping train setting other than its run.yaml records, naming the
// keys that differ, before run.yaml is rewritten: the checkpoints were
// trained with the recorded ones.
func sameRecorded(dir string, c Config) error {
	old, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	was, now := flatYAML(old.YAML()), flatYAML(c.YAML())
	var diffs []string
	keys := slices.Sorted(maps.Keys(was))
	for k := range now {
		if _, ok := was[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if t, ok := strings.CutPrefix(k, "train."); ok && !slices.Contains(lossShaping, t) {
			continue // evaluation and checkpoint settings may change
		}
		if was[k] != now[k] {
			diffs = append(diffs, fmt.Sprintf("%s was %s, now %s", k, orNone(was[k]), orNone(now[k])))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return fmt.Errorf("resuming %s with another config than its %s: %s; resume with the recorded config (omit --config) or start another run", dir, ConfigFile, strings.Join(diffs, ", "))
}

// flatYAML maps each key path of a YAML document (model.n_heads) to its value.
func flatYAML(b []byte) map[string]string {
	v := viper.New()
	v.SetConfigType("yaml")
	out := map[string]string{}
	if v.ReadConfig(bytes.NewReader(b)) != nil {
		return out
	}
	for _, k := range v.AllKeys() {
		out[k] = fmt.Sprint(v.Get(k))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// ModelDirError explains err, the error of loading dir as a model checkpoint,
// when dir is a training run's directory rather than one of its checkpoints:
// it names the checkpoints found, so that `--model RUN` says which to give.
// Otherwise it returns err.
func ModelDirError(dir string, err error) error {
	if err == nil || exists(filepath.Join(dir, models.ConfigFile)) {
		return err
	}
	cps, cerr := train.Checkpoints(dir)
	if cerr != nil || len(cps) == 0 {
		return err
	}
	names := make([]string, 0, 3)
	for _, cp := range cps[max(0, len(cps)-3):] {
		names = append(names, filepath.Base(cp.Dir))
	}
	more := ""
	if len(cps) > 3 {
		more = fmt.Sprintf("%d checkpoints, the last ", len(cps))
	}
	return fmt.Errorf("%s is a training run, not a checkpoint: it holds %s%s in %s; give one of them (the latest is %s)",
		dir, more, strings.Join(names, ", "), CheckpointsDir, cps[len(cps)-1].Dir)
}
