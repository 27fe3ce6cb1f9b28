package probes

import (
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/run"
)

// TestRepeatFor: the default prompts take the token range of the data a model was trained
// on, and RepeatForRun reads it from a run's run.yaml.
func TestRepeatFor(t *testing.T) {
	syn := data.Config{Kind: data.KindSynthetic, Synthetic: data.SyntheticConfig{Vocab: 128}}.WithDefaults()
	rep := data.Config{Kind: data.KindRepeated, Repeated: data.RepeatedConfig{MinToken: 5, MaxToken: 40, BOS: 2, Exclude: []int{7}}}
	for _, tc := range []struct {
		name     string
		dc       *data.Config
		lo, hi   int
		bos      int
		excluded int
	}{
		{"none", nil, 0, 0, 0, -1},
		{"synthetic: the middle 80%", &syn, syn.Synthetic.EvalRepeated(0, 2).MinToken, syn.Synthetic.EvalRepeated(0, 2).MaxToken, syn.Synthetic.BOS, -1},
		{"repeated: its own range", &rep, 5, 40, 2, 7},
	} {
		o := RepeatFor(tc.dc, 99)
		if o.Batch != 32 || o.Seed != 1 || o.Vocab != 99 || o.Len != 0 {
			t.Errorf("%s: batch %d seed %d vocab %d len %d, want 32, 1, 99, 0", tc.name, o.Batch, o.Seed, o.Vocab, o.Len)
		}
		if o.MinToken != tc.lo || o.MaxToken != tc.hi || o.BOS != tc.bos {
			t.Errorf("%s: tokens [%d, %d) BOS %d, want [%d, %d) BOS %d", tc.name, o.MinToken, o.MaxToken, o.BOS, tc.lo, tc.hi, tc.bos)
		}
		if tc.excluded >= 0 && (len(o.Exclude) != 1 || o.Exclude[0] != tc.excluded) {
			t.Errorf("%s: exclude %v, want [%d]", tc.name, o.Exclude, tc.excluded)
		}
	}
	if tc := syn.Synthetic.EvalRepeated(0, 2); tc.MinToken == 0 {
		t.Fatal("the synthetic language's range starts at 0: the test cannot tell it from the default")
	}

	dir := t.TempDir()
	if _, err := run.Start(t.Context(), dir, smallRun(syn), run.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := RepeatForRun(dir, 0), RepeatFor(&syn, 0); got.MinToken != want.MinToken || got.MaxToken != want.MaxToken {
		t.Errorf("RepeatForRun: tokens [%d, %d), want [%d, %d) from run.yaml", got.MinToken, got.MaxToken, want.MinToken, want.MaxToken)
	}
	if got := RepeatForRun(filepath.Join(dir, "none"), 0); got.MinToken != 0 || got.MaxToken != 0 {
		t.Errorf("RepeatForRun without run.yaml: tokens [%d, %d), want the defaults", got.MinToken, got.MaxToken)
	}
}

// smallRun is a run config of one step on dc.
func smallRun(dc data.Config) run.Config {
	c := run.DemoConfig()
	c.Data = dc
	c.Model.NLayers = 1
	c.Train.Steps, c.Train.Warmup, c.Train.BatchSize, c.Train.EvalEvery = 1, 1, 2, 0
	return c
}
