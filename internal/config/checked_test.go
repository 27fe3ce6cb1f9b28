package config

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkedT fills Steps (default 10) and wants Steps and Rate positive.
type checkedT struct {
	Steps int     `mapstructure:"steps"`
	Rate  float64 `mapstructure:"rate"`
}

func (c checkedT) WithDefaults() checkedT {
	c.Steps = cmp.Or(c.Steps, 10)
	return c
}

func (c checkedT) Validate() error {
	return errors.Join(positive("steps", float64(c.Steps)), positive("rate", c.Rate))
}

func positive(key string, v float64) error {
	if v > 0 {
		return nil
	}
	return fmt.Errorf("%s must be positive", key)
}

func TestLoadChecked(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       checkedT
		err        string
	}{
		{"defaults filled", "rate: 0.5\n", checkedT{Steps: 10, Rate: 0.5}, ""},
		{"file wins", "steps: 3\nrate: 2\n", checkedT{Steps: 3, Rate: 2}, ""},
		{"every problem on one line", "steps: -1\n", checkedT{}, "steps must be positive; rate must be positive"},
		{"unknown key", "rate: 1\nstep: 3\n", checkedT{}, `"step"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadChecked[checkedT](Sources{File: write(t, tc.yaml), NoEnv: true})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line containing %q", err, tc.err)
				}
				if got != (checkedT{}) {
					t.Errorf("got %+v with an error, want the zero config", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
