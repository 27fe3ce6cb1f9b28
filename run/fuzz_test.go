package run_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/run"
)

// FuzzLoadConfig: whatever a run.yaml holds, LoadConfig either refuses it with one line or
// returns a config whose model validates and whose training memory is finite, so that a
// command can compare it with the machine before allocating; it never panics. Seeds are
// in testdata/fuzz/FuzzLoadConfig (the sizes that once wrapped n_heads·d_head among them);
// `go test -fuzz FuzzLoadConfig ./run` explores further.
func FuzzLoadConfig(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "docs", "recipes", "induction-reference.yaml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), run.ConfigFile)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := run.LoadConfig(path)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			return
		}
		if c.Model.DVocab == 0 {
			c.Model.DVocab = 1 // the data's vocabulary, filled in by Start
		}
		if err := c.Model.Validate(); err != nil {
			t.Errorf("LoadConfig accepted a model config that does not validate: %v", err)
		}
		if est := c.Model.TrainBytes(c.Train.BatchSize, c.Model.NCtx); math.IsInf(est, 0) || math.IsNaN(est) {
			t.Errorf("training memory estimate %g for an accepted config", est)
		}
	})
}
