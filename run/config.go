package run

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/config"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// Config is a training run's config file (run.yaml): the model, the token
// source and the training. docs/training.md describes every key.
type Config struct {
	Model models.Config `json:"model" mapstructure:"model"`
	Data  data.Config   `json:"data" mapstructure:"data"`
	Train train.Config  `json:"train" mapstructure:"train"`
}

// DefaultConfig is what an empty config file means: a 2-layer
// attention-only model (docs/REFERENCE.md's small setting) on the synthetic
// language, with train.DefaultConfig. model.d_vocab 0 means "the data
// source's vocabulary". The model and the data are seeded with train.seed,
// as [LoadConfig] seeds them when the file does not.
func DefaultConfig() Config {
	t := train.DefaultConfig()
	return Config{
		Model: models.Config{NLayers: 2, NHeads: 4, DModel: 64, NCtx: 64, AttnOnly: true,
			Normalization: models.NormLN, Positional: models.PosStandard, Seed: t.Seed},
		Data:  data.Config{Kind: data.KindSynthetic, Seed: t.Seed},
		Train: t,
	}
}

// OutKey is the one key a config file may hold besides its sections: the
// run directory, which the command line reads (its --out flag and
// MECHINTERP_OUT beat it).
const OutKey = "out"

// DefaultDir is where a run (or a study) of the config file named config goes when no
// directory is given: runs/<its name without extension>, or runs/run without a file.
func DefaultDir(config string) string {
	name := "run"
	if config != "" {
		name = strings.TrimSuffix(filepath.Base(config), filepath.Ext(config))
	}
	return filepath.Join("runs", name)
}

// LoadConfig resolves a run config: MECHINTERP_* environment variables
// (MECHINTERP_TRAIN_LR=0.001) beat the YAML file (none when file is ""),
// which beats [DefaultConfig]. Unknown keys and invalid values are one-line
// errors naming the key.
func LoadConfig(file string) (Config, error) {
	return load(file, true)
}

// ReadConfig reads the config a run was trained with: dir's run.yaml, or
// for a run of the repeated-data study made before run.yaml, its run.json.
// The environment does not apply.
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	if !exists(path) && exists(filepath.Join(dir, LegacyConfigFile)) {
		return readLegacy(filepath.Join(dir, LegacyConfigFile))
	}
	return load(path, false)
}

func load(file string, env bool) (Config, error) {
	c := DefaultConfig()
	vals, err := config.Load(&c, config.Sources{File: file, NoEnv: !env, Extra: []string{OutKey},
		NoDefault: []string{"model.seed", "data.seed"}, Doc: "docs/training.md"})
	if err != nil {
		return Config{}, err
	}
	if !vals.IsSet("model.seed") {
		c.Model.Seed = c.Train.Seed
	}
	if !vals.IsSet("data.seed") {
		c.Data.Seed = c.Train.Seed
	}
	c.Model = c.Model.WithDefaults()
	c.Data = c.Data.WithDefaults()
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks the three sections; d_vocab 0 (from the data) passes.
func (c Config) validate() error {
	mc := c.Model
	if mc.DVocab == 0 {
		mc.DVocab = 1
	}
	if err := errors.Join(mc.Validate(), c.Data.Validate(), c.Train.Validate()); err != nil {
		return fmt.Errorf("config: %s", config.OneLine(err))
	}
	return nil
}

// resolveMixture fills a repeated-data mixture's sizes from the train
// section (data.mixture.fraction > 0, Hernandez et al. 2022): the budget is
// steps × batch_size sequences and the held-out set eval_batches ×
// batch_size when they are 0, and set ones must cover the run.
func (c *Config) resolveMixture() error {
	mc := &c.Data.Mixture
	if mc.Fraction <= 0 {
		return nil
	}
	t := c.Train
	budget, held := t.Steps*t.BatchSize, t.EvalBatches*t.BatchSize
	if mc.Sequences == 0 {
		mc.Sequences = budget
	}
	if mc.HeldOut == 0 {
		mc.HeldOut = held
	}
	if mc.Sequences < budget {
		return fmt.Errorf("config: data.mixture.sequences %d is less than the %d sequences the run trains on (steps %d × batch_size %d)", mc.Sequences, budget, t.Steps, t.BatchSize)
	}
	if t.EvalEvery > 0 && mc.HeldOut < held {
		return fmt.Errorf("config: data.mixture.held_out %d is less than the %d sequences evaluation reads (eval_batches %d × batch_size %d)", mc.HeldOut, held, t.EvalBatches, t.BatchSize)
	}
	return nil
}

// unusedKey reports the data sections other than the one data.kind names,
// which run.yaml leaves out.
func (c Config) unusedKey(key string) bool {
	for _, k := range data.Kinds {
		if key == "data."+k {
			return k != c.Data.Kind
		}
	}
	return false
}

// configHeader starts every run.yaml.
const configHeader = "# Resolved config of this run: mechinterp train --config run.yaml --out DIR\n"

// YAML returns c as run.yaml holds it: block YAML, sections in field order,
// without the data sections other than data.kind's.
func (c Config) YAML() []byte {
	return append([]byte(configHeader), marshalYAML(c, c.unusedKey)...)
}

// WriteConfig writes c to dir/run.yaml atomically.
func WriteConfig(dir string, c Config) error {
	yml := c.YAML()
	return atomicfile.Write(filepath.Join(dir, ConfigFile), func(w io.Writer) error {
		_, err := w.Write(yml)
		return err
	})
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
