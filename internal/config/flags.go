package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// BindFlags registers one command-line flag per setting of opts, a pointer to
// a struct of flat settings (embedded groups tagged `mapstructure:",squash"`
// count as flat), so that a command's flags are documented once, beside the
// options they set, in the package that takes them. Each field's tags give:
//
//	mapstructure:"top"  the flag's name (and its YAML key and MECHINTERP_TOP)
//	help:"..."          the flag's usage line
//	default:"5"         the default, parsed into the field (else the field's value)
//	short:"o"           a one-letter shorthand
//	hidden:"true"       leave it out of --help
//
// An embedded group may carry defaults for its settings, so that the structs sharing it
// each say their own: `mapstructure:",squash" default:"out=heads.html"` (groupDefaults).
// Fields are string, bool, int, int64, uint64, float64 or []string; Load
// with the same struct and the flag set then resolves them (flags >
// MECHINTERP_* > YAML > defaults). A field tagged `mapstructure:"-"` is not
// a setting.
func BindFlags(fs *pflag.FlagSet, opts any) error {
	rv := reflect.ValueOf(opts)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: BindFlags needs a pointer to a struct, got %T", opts)
	}
	leaves, err := leafFields(rv.Elem(), "")
	if err != nil {
		return err
	}
	for _, l := range leaves {
		if strings.Contains(l.Key, ".") {
			return fmt.Errorf("config: setting %s of %T is nested; a flag needs a flat key", l.Key, opts)
		}
		short, usage, p := l.field.Tag.Get("short"), l.field.Tag.Get("help"), l.Value.Addr().Interface()
		if l.hasDef {
			// Parsed as the flag parses a value, on a flag set of its own: a slice
			// flag set once would append to, not replace, the default.
			tmp := pflag.NewFlagSet("", pflag.ContinueOnError)
			if err := addFlag(tmp, p, l.Key, short, usage); err != nil {
				return fmt.Errorf("config: setting %s of %T: %w", l.Key, opts, err)
			}
			if err := tmp.Set(l.Key, l.def); err != nil {
				return fmt.Errorf("config: default of %s: %w", l.Key, err)
			}
		}
		if err := addFlag(fs, p, l.Key, short, usage); err != nil {
			return fmt.Errorf("config: setting %s of %T: %w", l.Key, opts, err)
		}
		fs.Lookup(l.Key).Hidden = l.field.Tag.Get("hidden") == "true"
	}
	return nil
}

// addFlag registers a flag for the field p points to, its current value the default.
func addFlag(fs *pflag.FlagSet, p any, name, short, usage string) error {
	switch p := p.(type) {
	case *string:
		fs.StringVarP(p, name, short, *p, usage)
	case *bool:
		fs.BoolVarP(p, name, short, *p, usage)
	case *int:
		fs.IntVarP(p, name, short, *p, usage)
	case *int64:
		fs.Int64VarP(p, name, short, *p, usage)
	case *uint64:
		fs.Uint64VarP(p, name, short, *p, usage)
	case *float64:
		fs.Float64VarP(p, name, short, *p, usage)
	case *[]string:
		fs.StringSliceVarP(p, name, short, *p, usage)
	default:
		return fmt.Errorf("type %T takes no flag", p)
	}
	return nil
}

// leafField is a Leaf with the struct field it came from, for its tags, and its default:
// the field's default tag, or its group's (groupDefaults).
type leafField struct {
	Leaf
	field  reflect.StructField
	def    string
	hasDef bool
}

func leafFields(v reflect.Value, prefix string) ([]leafField, error) {
	var out []leafField
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if squashed(f) {
			group, err := leafFields(fv, prefix)
			if err == nil {
				err = groupDefaults(group, f)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, group...)
			continue
		}
		tag := tagName(f)
		if tag == "" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if fv.Kind() == reflect.Struct {
			group, err := leafFields(fv, key)
			if err != nil {
				return nil, err
			}
			out = append(out, group...)
			continue
		}
		d, ok := f.Tag.Lookup("default")
		out = append(out, leafField{Leaf{key, fv}, f, d, ok})
	}
	return out, nil
}

// groupDefaults sets the defaults that the default tag of f, a squashed group of shared
// settings, gives its settings: `default:"out=heads.html"` (settings separated by ';'), so
// that each struct embedding the group says its own defaults beside it.
func groupDefaults(group []leafField, f reflect.StructField) error {
	tag, ok := f.Tag.Lookup("default")
	if !ok {
		return nil
	}
	for _, kv := range strings.Split(tag, ";") {
		key, val, ok := strings.Cut(kv, "=")
		i := slices.IndexFunc(group, func(l leafField) bool { return l.Key == key })
		if !ok || i < 0 {
			return fmt.Errorf("config: default %q of group %s: want SETTING=VALUE, a setting of the group", kv, f.Name)
		}
		group[i].def, group[i].hasDef = val, true
	}
	return nil
}

// squashed reports whether f is a struct whose fields mapstructure reads as
// its parent's (`mapstructure:",squash"`).
func squashed(f reflect.StructField) bool {
	return f.IsExported() && f.Type.Kind() == reflect.Struct && strings.Contains(f.Tag.Get("mapstructure"), ",squash")
}
