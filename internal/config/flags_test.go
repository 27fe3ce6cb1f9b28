package config

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

type Group struct {
	Seed uint64 `mapstructure:"seed" default:"3" help:"seed"`
}

type job struct {
	Dir   string   `mapstructure:"-"`
	Out   string   `mapstructure:"out" short:"o" default:"x.html" help:"page"`
	Top   int      `mapstructure:"top" default:"5" help:"how many"`
	Rate  float64  `mapstructure:"rate" default:"1e-3" help:"rate"`
	Big   int64    `mapstructure:"big" help:"bytes"`
	On    bool     `mapstructure:"on" default:"true" help:"switch"`
	Data  []string `mapstructure:"data" default:"goroot" help:"corpus"`
	Steps int      `mapstructure:"steps" hidden:"true" help:"steps"`
	Group `mapstructure:",squash"`
}

// TestBindFlags checks that every tagged field becomes a flag with its default, shorthand,
// usage and visibility, and that Load then resolves flags > environment > file > defaults
// into the struct.
func TestBindFlags(t *testing.T) {
	var j job
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	if err := BindFlags(fs, &j); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"out": "x.html", "top": "5", "rate": "0.001", "big": "0", "on": "true", "data": "[goroot]", "steps": "0", "seed": "3"}
	for name, def := range want {
		f := fs.Lookup(name)
		if f == nil {
			t.Fatalf("no flag --%s", name)
		}
		if f.DefValue != def {
			t.Errorf("--%s default %q, want %q", name, f.DefValue, def)
		}
	}
	if fs.Lookup("dir") != nil || fs.ShorthandLookup("o").Name != "out" || !fs.Lookup("steps").Hidden || fs.Lookup("top").Usage != "how many" {
		t.Error("tags not applied: dir must be no flag, -o is --out, --steps hidden, --top's usage its help")
	}
	t.Setenv("MECHINTERP_TOP", "7")
	t.Setenv("MECHINTERP_SEED", "8")
	if err := fs.Parse([]string{"--seed", "9", "--on=false"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(&j, Sources{Flags: fs, File: write(t, "top: 6\nrate: 0.5\ndata: [a, b]\n")}); err != nil {
		t.Fatal(err)
	}
	if j.Top != 7 || j.Seed != 9 || j.Rate != 0.5 || j.On || !slices.Equal(j.Data, []string{"a", "b"}) || j.Out != "x.html" {
		t.Errorf("resolved %+v: want top 7 (env), seed 9 (flag), rate 0.5 (file), on false, data [a b], out x.html", j)
	}
}

func TestBindFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts any
	}{
		{"not a pointer", job{}},
		{"nested key", &struct {
			S struct {
				N int `mapstructure:"n"`
			} `mapstructure:"s"`
		}{}},
		{"unsupported type", &struct {
			C complex128 `mapstructure:"c"`
		}{}},
		{"bad default", &struct {
			N int `mapstructure:"n" default:"many"`
		}{}},
	} {
		if err := BindFlags(pflag.NewFlagSet("x", pflag.ContinueOnError), tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestBindFlagsSliceReplaces checks that a list flag given on the command line replaces
// its default instead of appending to it.
func TestBindFlagsSliceReplaces(t *testing.T) {
	var j job
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	if err := BindFlags(fs, &j); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--data", "a", "--data", "b"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j.Data, []string{"a", "b"}) {
		t.Errorf("--data a --data b gave %q, want [a b]", j.Data)
	}
}

// TestBindFlagsGroupDefaults checks the defaults a struct gives the settings of a group it
// embeds, and that a default naming no setting of the group is refused.
func TestBindFlagsGroupDefaults(t *testing.T) {
	type Page struct {
		Out  string `mapstructure:"out" short:"o" help:"page"`
		JSON bool   `mapstructure:"json"`
	}
	var j struct {
		Page `mapstructure:",squash" default:"out=heads.html;json=true"`
		Top  int `mapstructure:"top" default:"3"`
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	if err := BindFlags(fs, &j); err != nil {
		t.Fatal(err)
	}
	if fs.Lookup("out").DefValue != "heads.html" || fs.Lookup("json").DefValue != "true" || j.Out != "heads.html" || fs.Lookup("top").DefValue != "3" {
		t.Errorf("defaults: --out %q, --json %q, Out %q, --top %q; want heads.html, true, heads.html, 3",
			fs.Lookup("out").DefValue, fs.Lookup("json").DefValue, j.Out, fs.Lookup("top").DefValue)
	}
	var bad struct {
		Page `mapstructure:",squash" default:"title=x"`
	}
	if err := BindFlags(pflag.NewFlagSet("x", pflag.ContinueOnError), &bad); err == nil {
		t.Error("a group default naming no setting of the group: no error")
	}
}
