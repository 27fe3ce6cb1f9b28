package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newTrainCmd) }

func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train [--config run.yaml] [--out DIR] [--resume]",
		Short: "Train a model from a YAML config, with checkpoints and a metrics log",
		Long: `Train a transformer on a token source. The YAML config has three sections,
model:, data: and train: (see docs/training.md); every key can also be set
with a MECHINTERP_* environment variable (MECHINTERP_TRAIN_LR=0.001) and the
flags beat both. The resolved config is written to OUT/run.yaml, metrics to
OUT/metrics.jsonl and checkpoints to OUT/checkpoints/step-NNNNNN/.
Ctrl-C stops after the current step and saves a checkpoint; --resume
continues from the latest checkpoint to the same losses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			rc, err := loadRunConfig(v, cmd.Flags().Lookup("config").Value.String())
			if err != nil {
				return err
			}
			out := v.GetString("out")
			if out == "" {
				out = defaultOut(cmd.Flags().Lookup("config").Value.String())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := trainRun(ctx, rc, trainArgs{
				out: out, resume: v.GetBool("resume"),
				progress: progressWriter(cmd.ErrOrStderr(), v.GetBool("quiet")),
			})
			if errors.Is(err, train.ErrInterrupted) {
				return fmt.Errorf("%w; continue with --resume --out %s", err, out)
			}
			if err != nil {
				return err
			}
			printTrainResult(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("config", "", "YAML run config (model:, data:, train:)")
	f.String("out", "", "run directory (default runs/<config name>)")
	f.Bool("resume", false, "continue from the latest checkpoint in the run directory")
	f.Bool("quiet", false, "no progress bar")
	return cmd
}

// runConfig is a training run's config file.
type runConfig struct {
	Model models.Config `json:"model" mapstructure:"model"`
	Data  data.Config   `json:"data" mapstructure:"data"`
	Train train.Config  `json:"train" mapstructure:"train"`
}

// defaultRunConfig is what an empty config file means: a 2-layer
// attention-only model (docs/REFERENCE.md's small setting) on the synthetic
// language, with train.DefaultConfig. model.d_vocab 0 means "the data
// source's vocabulary"; model.seed and data.seed default to train.seed.
func defaultRunConfig() runConfig {
	return runConfig{
		Model: models.Config{NLayers: 2, NHeads: 4, DModel: 64, NCtx: 64, AttnOnly: true,
			Normalization: models.NormLN, Positional: models.PosStandard},
		Data:  data.Config{Kind: data.KindSynthetic},
		Train: train.DefaultConfig(),
	}
}

// unusedKey reports the data sections other than the one data.kind names.
func (rc runConfig) unusedKey(key string) bool {
	for _, k := range []string{data.KindRepeated, data.KindSynthetic, data.KindText} {
		if key == "data."+k {
			return k != rc.Data.Kind
		}
	}
	return false
}

// topLevelFileKeys are keys a config file may hold besides the sections.
var topLevelFileKeys = []string{"out"}

// noDefault lists keys whose absence means something, so viper gets no
// default for them (only an environment binding).
var noDefault = map[string]bool{"model.seed": true, "data.seed": true}

// loadRunConfig resolves the run config: flags > MECHINTERP_* environment >
// the YAML file > defaults. It rejects unknown keys in the file and invalid
// values, with one line naming the key.
func loadRunConfig(v *viper.Viper, file string) (runConfig, error) {
	def := defaultRunConfig()
	leaves := configLeaves(reflect.ValueOf(def), "")
	known := map[string]bool{}
	for _, l := range leaves {
		known[l.key] = true
		if err := v.BindEnv(l.key); err != nil {
			return runConfig{}, err
		}
		if !noDefault[l.key] && !(l.val.Kind() == reflect.Pointer && l.val.IsNil()) {
			v.SetDefault(l.key, l.val.Interface())
		}
	}
	if file != "" {
		fv := viper.New()
		fv.SetConfigFile(file)
		fv.SetConfigType("yaml")
		if err := fv.ReadInConfig(); err != nil {
			return runConfig{}, fmt.Errorf("reading config file %s: %s", file, oneLine(err))
		}
		var unknown []string
		for _, k := range fv.AllKeys() {
			if !known[k] && !slices.Contains(topLevelFileKeys, k) && !underLeaf(k, known) && !isSection(k, known) {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return runConfig{}, fmt.Errorf("config file %s: unknown key %s (see docs/training.md for the keys)", file, strings.Join(quoteAll(unknown), ", "))
		}
	}
	var rc runConfig
	if err := v.Unmarshal(&rc); err != nil {
		return runConfig{}, fmt.Errorf("config: %s", oneLine(err))
	}
	if !v.IsSet("model.seed") {
		rc.Model.Seed = rc.Train.Seed
	}
	if !v.IsSet("data.seed") {
		rc.Data.Seed = rc.Train.Seed
	}
	rc.Model = rc.Model.WithDefaults()
	rc.Data = rc.Data.WithDefaults()
	var errs []error
	mc := rc.Model
	if mc.DVocab == 0 { // filled in from the data source by trainRun
		mc.DVocab = 1
	}
	errs = append(errs, mc.Validate())
	errs = append(errs, rc.Data.Validate(), rc.Train.Validate())
	if err := errors.Join(errs...); err != nil {
		return runConfig{}, fmt.Errorf("config: %s", oneLine(err))
	}
	return rc, nil
}

// underLeaf reports whether k lies below a known leaf (a key whose value is a
// map, which viper flattens further).
func underLeaf(k string, known map[string]bool) bool {
	for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
		if known[k[:i]] {
			return true
		}
	}
	return false
}

// isSection reports whether k names a section (an empty one: `model:` with
// nothing under it).
func isSection(k string, known map[string]bool) bool {
	for kk := range known {
		if strings.HasPrefix(kk, k+".") {
			return true
		}
	}
	return false
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// oneLine joins a multi-line error (errors.Join, mapstructure) into one line.
func oneLine(err error) string {
	var parts []string
	for _, ln := range strings.Split(err.Error(), "\n") {
		ln = strings.TrimSpace(ln)
		ln = strings.TrimPrefix(ln, "* ")
		if ln != "" && !strings.HasPrefix(ln, "decoding failed due to the following error") {
			parts = append(parts, ln)
		}
	}
	return strings.Join(parts, "; ")
}

// leaf is one scalar (or list) setting of a config struct.
type leaf struct {
	key string
	val reflect.Value
}

// configLeaves walks a config struct by its mapstructure tags and returns
// its settings as dotted keys (train.checkpoints.every), in field order.
func configLeaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			out = append(out, configLeaves(fv, key)...)
			continue
		}
		out = append(out, leaf{key, fv})
	}
	return out
}

// marshalYAML writes a config struct as block YAML, sections in field order;
// nil pointers and the keys skip names are left out. It handles the kinds
// config structs use: nested structs, strings, bools, numbers and lists of
// scalars.
func marshalYAML(v any, skip func(key string) bool) []byte {
	var b strings.Builder
	var walk func(v reflect.Value, prefix, indent string)
	walk = func(v reflect.Value, prefix, indent string) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			key := prefix + tag
			if skip != nil && skip(key) {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				fmt.Fprintf(&b, "%s%s:\n", indent, tag)
				walk(fv, key+".", indent+"  ")
				continue
			}
			fmt.Fprintf(&b, "%s%s: %s\n", indent, tag, yamlScalar(fv))
		}
	}
	walk(reflect.ValueOf(v), "", "")
	return []byte(b.String())
}

func yamlScalar(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = yamlScalar(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return strconv.Quote(fmt.Sprint(v.Interface()))
}

// defaultOut is runs/<config file name without extension>, or runs/run.
func defaultOut(config string) string {
	name := "run"
	if config != "" {
		name = strings.TrimSuffix(filepath.Base(config), filepath.Ext(config))
	}
	return filepath.Join("runs", name)
}

// progressWriter returns w for the progress bar when it is a terminal and
// the user did not ask for quiet, else nil.
func progressWriter(w io.Writer, quiet bool) io.Writer {
	if quiet || !train.IsTerminal(w) {
		return nil
	}
	return w
}

// fillMixture fills a mixture's budget and held-out size from the train
// section when they are 0, and checks that set ones cover the run: the
// training budget must hold steps × batch_size sequences, the held-out set
// eval_batches × batch_size.
func fillMixture(rc *runConfig) error {
	mc := &rc.Data.Mixture
	if mc.Fraction <= 0 {
		return nil
	}
	budget, held := rc.Train.Steps*rc.Train.BatchSize, rc.Train.EvalBatches*rc.Train.BatchSize
	if mc.Sequences == 0 {
		mc.Sequences = budget
	}
	if mc.HeldOut == 0 {
		mc.HeldOut = held
	}
	if mc.Sequences < budget {
		return fmt.Errorf("config: data.mixture.sequences %d is less than the %d sequences the run trains on (steps %d × batch_size %d)", mc.Sequences, budget, rc.Train.Steps, rc.Train.BatchSize)
	}
	if rc.Train.EvalEvery > 0 && mc.HeldOut < held {
		return fmt.Errorf("config: data.mixture.held_out %d is less than the %d sequences evaluation reads (eval_batches %d × batch_size %d)", mc.HeldOut, held, rc.Train.EvalBatches, rc.Train.BatchSize)
	}
	return nil
}

// heldOutSeed is the seed of the held-out stream: the data seed with its
// bits mixed by a fixed constant, so it never equals the training stream.
func heldOutSeed(seed uint64) uint64 { return seed ^ 0x5eed_0f_4e1d_0e17 }

type trainArgs struct {
	out      string
	resume   bool
	progress io.Writer
	onStep   func(train.Metrics)
}

// trainRun builds the model and the sources of rc and trains into a.out,
// after writing the resolved config to a.out/run.yaml. With a repeated-data
// mixture (data.mixture.fraction > 0, Hernandez et al. 2022) the budget
// defaults to the run's steps × batch_size sequences and the held-out set
// to its eval_batches × batch_size, both written into run.yaml, and the
// held-out loss is taken on the mixture's held-out set.
func trainRun(ctx context.Context, rc runConfig, a trainArgs) (*train.Result, error) {
	if err := fillMixture(&rc); err != nil {
		return nil, err
	}
	src, err := data.New(rc.Data)
	if err != nil {
		return nil, oneLineErr(err)
	}
	mix, _ := src.(*data.Mixture)
	if rc.Model.DVocab == 0 {
		rc.Model.DVocab = src.Vocab()
	}
	if rc.Model.DVocab < src.Vocab() {
		return nil, fmt.Errorf("config: model.d_vocab %d is smaller than the data's vocabulary %d", rc.Model.DVocab, src.Vocab())
	}
	m, err := models.New(rc.Model)
	if err != nil {
		return nil, oneLineErr(err)
	}
	rc.Model = m.Config
	var eval train.Source
	switch {
	case rc.Train.EvalEvery > 0 && mix != nil:
		eval = data.NewPairs(mix.HeldOut())
	case rc.Train.EvalEvery > 0:
		ec := rc.Data
		ec.Seed = heldOutSeed(ec.Seed)
		es, err := data.New(ec)
		if err != nil {
			return nil, oneLineErr(err)
		}
		eval = data.NewPairs(es)
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return nil, err
	}
	yml := append([]byte("# Resolved config of this run: mechinterp train --config run.yaml --out DIR\n"), marshalYAML(rc, rc.unusedKey)...)
	if err := tensor.WriteFileAtomic(filepath.Join(a.out, "run.yaml"), func(w io.Writer) error {
		_, err := w.Write(yml)
		return err
	}); err != nil {
		return nil, err
	}
	res, err := train.Run(ctx, train.Options{
		Model: m, Config: rc.Train, Dir: a.out,
		Train: data.NewPairs(src), Eval: eval,
		Resume: a.resume, Progress: a.progress, OnStep: a.onStep,
	})
	if errors.Is(err, train.ErrInterrupted) {
		return res, err // one line; the caller adds how to continue
	}
	if err != nil {
		return res, oneLineErr(err)
	}
	return res, nil
}

func oneLineErr(err error) error { return errors.New(oneLine(err)) }

func printTrainResult(w io.Writer, res *train.Result) {
	switch {
	case res.ResumedFrom == res.Step:
		fmt.Fprintf(w, "nothing to do: the run is complete at step %d\n", res.Step)
	default:
		if res.ResumedFrom >= 0 {
			fmt.Fprintf(w, "resumed from step %d\n", res.ResumedFrom)
		}
		fmt.Fprintf(w, "trained to step %d (%d tokens) in %s; final loss %.4f", res.Step, res.Tokens, res.Elapsed.Round(1e7), res.Loss)
		if !math.IsNaN(res.EvalLoss) {
			fmt.Fprintf(w, ", held-out %.4f", res.EvalLoss)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "run directory: %s\n", res.Dir)
	fmt.Fprintf(w, "  config:      %s\n", filepath.Join(res.Dir, "run.yaml"))
	fmt.Fprintf(w, "  metrics:     %s\n", filepath.Join(res.Dir, train.MetricsFile))
	fmt.Fprintf(w, "  checkpoints: %s (%d written)\n", filepath.Join(res.Dir, train.CheckpointsDir), len(res.Checkpoints))
}
