package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

type section struct {
	Rate  float64 `mapstructure:"rate"`
	Steps int     `mapstructure:"steps"`
	Sub   struct {
		Every int `mapstructure:"every"`
	} `mapstructure:"sub"`
}

type settingsT struct {
	Name  string  `mapstructure:"name"`
	Train section `mapstructure:"train"`
	Seed  uint64  `mapstructure:"seed"`
	List  []item  `mapstructure:"list"`
}

type item struct {
	N int `mapstructure:"n"`
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence checks flags > environment > file > base > defaults, key
// by key.
func TestPrecedence(t *testing.T) {
	t.Setenv("MECHINTERP_TRAIN_STEPS", "30")
	t.Setenv("MECHINTERP_OUT", "from-env")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("out", "flag-default", "")
	fs.Int("top", 5, "")
	if err := fs.Parse([]string{"--top", "7"}); err != nil {
		t.Fatal(err)
	}
	s := settingsT{Name: "default", Seed: 9}
	s.Train.Rate = 0.5
	vals, err := Load(&s, Sources{
		Base:  []byte("name: base\ntrain:\n  rate: 0.25\n  steps: 10\n"),
		File:  write(t, "train:\n  steps: 20\n  sub:\n    every: 3\nout: from-file\n"),
		Flags: fs, Extra: []string{"out"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"default", s.Seed, uint64(9)},
		{"base over default", s.Name, "base"},
		{"base", s.Train.Rate, 0.25},
		{"env over file", s.Train.Steps, 30},
		{"file", s.Train.Sub.Every, 3},
		{"env over file (flag key)", vals.Viper().GetString("out"), "from-env"},
		{"flag set", vals.Viper().GetInt("top"), 7},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name, file string
		noStruct   bool
		env        [2]string
		want       string
	}{
		{name: "unknown key", file: "train:\n  rat: 1\n", want: `unknown key "train.rat" (see docs/x.md for the keys)`},
		{name: "unknown section", file: "optim:\n  lr: 1\n", want: `unknown key "optim.lr"`},
		{name: "unknown key in a list", file: "list: [{n: 1, m: 2}]\n", want: "m"},
		{name: "wrong type", file: "train:\n  steps: many\n", want: "train.steps"},
		{name: "bad env", env: [2]string{"MECHINTERP_TRAIN_RATE", "fast"}, want: "train.rate"},
		{name: "malformed", file: "train: [\n", want: "reading config file"},
		{name: "flag file, unknown key", file: "model: x\n", noStruct: true, want: `unknown key "model" (the keys are the command's flags`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			src := Sources{Doc: "docs/x.md"}
			if c.file != "" {
				src.File = write(t, c.file)
			}
			var dst any = &settingsT{}
			if c.noStruct {
				dst = nil
				src.Flags = pflag.NewFlagSet("x", pflag.ContinueOnError)
				src.Flags.Int("top", 1, "")
			}
			_, err := Load(dst, src)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q: want one line containing %q", msg, c.want)
			}
		})
	}
}

// TestNoDefault: a key without a default is set only by a source.
func TestNoDefault(t *testing.T) {
	for _, c := range []struct {
		file string
		set  bool
	}{{"name: x\n", false}, {"seed: 3\n", true}} {
		var s settingsT
		vals, err := Load(&s, Sources{File: write(t, c.file), NoDefault: []string{"seed"}})
		if err != nil {
			t.Fatal(err)
		}
		if vals.IsSet("seed") != c.set {
			t.Errorf("%q: IsSet(seed) = %v, want %v", c.file, !c.set, c.set)
		}
	}
}

func TestNoEnv(t *testing.T) {
	t.Setenv("MECHINTERP_NAME", "env")
	s := settingsT{Name: "default"}
	if _, err := Load(&s, Sources{NoEnv: true}); err != nil || s.Name != "default" {
		t.Errorf("name %q, err %v; want the default, the environment ignored", s.Name, err)
	}
}
