package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of every environment variable that sets a key.
const EnvPrefix = "MECHINTERP"

// Sources name where settings come from besides the defaults.
type Sources struct {
	// File is a YAML file ("" for none).
	File string
	// Base is YAML read beneath File: a key of File replaces Base's value,
	// lists included. It serves configs whose defaults are a YAML document.
	Base []byte
	// BaseName names Base in errors ("the default study").
	BaseName string
	// Flags are command-line flags, bound by name: a flag the user set beats
	// every other source, and an unset flag's default is a default.
	Flags *pflag.FlagSet
	// Extra lists keys the file may hold beside the settings of the struct
	// (such as "out", which is also a flag). Without a struct every flag but
	// "config" is such a key.
	Extra []string
	// NoDefault lists keys that get no default, so that [Values.IsSet]
	// tells whether a source set them.
	NoDefault []string
	// AnyKey skips the unknown-key check of File, for a command that reads
	// its flags here and the file's sections with another Load.
	AnyKey bool
	// NoEnv ignores the environment: for reading back a file that records
	// settings already resolved.
	NoEnv bool
	// Doc names the page that lists the keys, for the unknown-key error.
	Doc string
}

// Values are resolved settings, for the keys that are not fields of a
// struct (flags, Extra).
type Values struct{ v *viper.Viper }

// IsSet reports whether a source other than the defaults set key (for keys
// in Sources.NoDefault) or whether it has a value at all.
func (s *Values) IsSet(key string) bool { return s.v.IsSet(key) }

// Viper returns the underlying resolver, for code that reads flags by name.
func (s *Values) Viper() *viper.Viper { return s.v }

// Load resolves dst, a pointer to a struct with mapstructure tags whose
// current value holds the defaults (nil: only flags and Extra). It returns
// the resolved values of every key for reading flags by name.
func Load(dst any, src Sources) (*Values, error) {
	v := viper.New()
	if !src.NoEnv {
		v.SetEnvPrefix(EnvPrefix)
		v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
		v.AutomaticEnv()
	}
	known := map[string]bool{}
	if dst != nil {
		rv := reflect.ValueOf(dst)
		if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("config: Load needs a pointer to a struct, got %T", dst)
		}
		for _, l := range Leaves(rv.Elem()) {
			known[l.Key] = true
			if !src.NoEnv {
				if err := v.BindEnv(l.Key); err != nil {
					return nil, err
				}
			}
			if slices.Contains(src.NoDefault, l.Key) || (l.Value.Kind() == reflect.Pointer && l.Value.IsNil()) {
				continue
			}
			v.SetDefault(l.Key, l.Value.Interface())
		}
	}
	var bindErr error
	if src.Flags != nil {
		src.Flags.VisitAll(func(f *pflag.Flag) {
			if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
				bindErr = err
			}
		})
	}
	if bindErr != nil {
		return nil, bindErr
	}
	allowed := map[string]bool{}
	for _, k := range src.Extra {
		allowed[k] = true
	}
	if dst == nil && src.Flags != nil {
		src.Flags.VisitAll(func(f *pflag.Flag) {
			if f.Name != "config" {
				allowed[f.Name] = true
			}
		})
	}
	v.SetConfigType("yaml")
	if src.Base != nil {
		if err := v.ReadConfig(bytes.NewReader(src.Base)); err != nil {
			return nil, fmt.Errorf("%s: %s", src.baseName(), OneLine(err))
		}
	}
	if src.File != "" {
		b, err := ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("reading config file: %w", err)
		}
		if err := v.MergeConfig(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("reading config file %s: %s", src.File, OneLine(err))
		}
		if !src.AnyKey {
			// The file's own keys, apart from the defaults and the flags.
			fv := viper.New()
			fv.SetConfigType("yaml")
			if err := fv.ReadConfig(bytes.NewReader(b)); err != nil {
				return nil, fmt.Errorf("reading config file %s: %s", src.File, OneLine(err))
			}
			if unknown := unknownKeys(fv.AllKeys(), known, allowed); len(unknown) > 0 {
				return nil, fmt.Errorf("config file %s: unknown key %s (%s)", src.File, strings.Join(quoteAll(unknown), ", "), src.hint(dst == nil))
			}
		}
	}
	if dst != nil {
		if err := decode(v, dst, known); err != nil {
			where := "config"
			switch {
			case src.File != "":
				where = "config file " + src.File
			case src.Base != nil:
				where = src.baseName()
			}
			return nil, fmt.Errorf("%s: %s", where, OneLine(err))
		}
	}
	return &Values{v}, nil
}

// decode unmarshals the settings of dst's fields into dst, rejecting keys
// that no field takes (inside lists of structs too). Flags and Extra keys
// are not fields and are left out.
func decode(v *viper.Viper, dst any, known map[string]bool) error {
	top := map[string]bool{}
	for k := range known {
		top[strings.SplitN(k, ".", 2)[0]] = true
	}
	all := v.AllSettings()
	for k := range all {
		if !top[k] {
			delete(all, k)
		}
	}
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           dst,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	})
	if err != nil {
		return err
	}
	return d.Decode(all)
}

func (src Sources) baseName() string {
	if src.BaseName != "" {
		return src.BaseName
	}
	return "the default config"
}

func (src Sources) hint(flagsOnly bool) string {
	switch {
	case flagsOnly:
		return "the keys are the command's flags, see --help"
	case src.Doc != "":
		return "see " + src.Doc + " for the keys"
	}
	return "not a setting"
}

// unknownKeys returns the file's keys that are neither settings (nor below
// one whose value is a map, nor a section holding some) nor allowed, sorted.
func unknownKeys(keys []string, known, allowed map[string]bool) []string {
	var out []string
	for _, k := range keys {
		if !known[k] && !allowed[k] && !underLeaf(k, known) && !isSection(k, known) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// underLeaf reports whether k lies below a known leaf (a key whose value is
// a map, which viper flattens further).
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

// OneLine joins a multi-line error (errors.Join, mapstructure's lists) into
// one line.
func OneLine(err error) string {
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

// OneLineErr is err as a one-line error. It keeps no chain: use it only at
// the edge, where the error is printed.
func OneLineErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(OneLine(err))
}

// Leaf is one scalar (or list) setting of a config struct.
type Leaf struct {
	Key   string
	Value reflect.Value
}

// Leaves walks a config struct by its mapstructure tags and returns its
// settings as dotted keys (train.checkpoints.every), in field order.
func Leaves(v reflect.Value) []Leaf {
	var out []Leaf
	leaves, _ := leafFields(v, "") // an error is in defaults only, which leaves do not carry
	for _, l := range leaves {
		out = append(out, l.Leaf)
	}
	return out
}

func tagName(f reflect.StructField) string {
	tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// MaxFileBytes bounds the configuration files ReadFile reads: a YAML
// settings file, a run's run.yaml, a checkpoint's config.json (GPT-2's is
// under 1 KB).
const MaxFileBytes = 1 << 20

// ReadFile reads a configuration file. It stats the path first and refuses
// anything but a regular file (a FIFO would block the read forever, a
// device such as /dev/zero never end it) and a file over MaxFileBytes, and
// reads at most that much even if the file grows meanwhile. The errors wrap
// the os ones (fs.ErrNotExist for a missing file).
func ReadFile(path string) ([]byte, error) {
	return ReadLimited(path, MaxFileBytes, "a configuration file")
}

// ReadLimited is ReadFile for a file with another limit: limit bytes, for
// files larger than settings but still bounded (a tokenizer's vocabulary).
// what names the kind of file in the errors ("a tokenizer file").
func ReadLimited(path string, limit int64, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %s's limit of %d", path, st.Size(), what, limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past %s's limit of %d bytes while being read", path, what, limit)
	}
	return b, nil
}
