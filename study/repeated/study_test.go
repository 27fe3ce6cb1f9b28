package repeated

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// tinyStudy is a study small enough to train inside a test: a size family
// of three widths at f = 0 and two repeated-data runs.
func tinyStudy() Study {
	tc := train.DefaultConfig()
	tc.Steps, tc.BatchSize, tc.Warmup = 24, 4, 4
	tc.EvalEvery = 0
	tc.Checkpoints = train.CheckpointSchedule{PerDoubling: 1}
	return Study{
		Name: "tiny",
		Model: models.Config{NHeads: 2, NCtx: 24, AttnOnly: true, Normalization: models.NormLN,
			Positional: models.PosStandard, InitializerRange: 0.1},
		Data: data.Config{Kind: data.KindSynthetic,
			Synthetic: data.SyntheticConfig{Vocab: 24, MinSpan: 3, MaxSpan: 6, RandomFraction: data.Float(1)}},
		Train: tc,
		Eval:  Eval{HeldOut: 16, SubsetSample: 8, Copies: 3, Passages: 8, Prompts: 8},
		Sizes: []Size{{Name: "a", DModel: 8}, {Name: "b", DModel: 12}, {Name: "c", DModel: 16}},
		Archs: []Arch{{Name: "attn2", NLayers: 2, AttnOnly: true}, {Name: "mlp1", NLayers: 1}},
		Grids: []Grid{
			{Fractions: []float64{0}, Sizes: []string{"a", "b", "c"}, Archs: []string{"attn2"}, Seeds: []uint64{1}},
			{Fractions: []float64{0.5}, Epochs: []int{2, 8}, Sizes: []string{"b"}, Archs: []string{"attn2", "mlp1"}, Seeds: []uint64{1}},
		},
	}
}

func TestRuns(t *testing.T) {
	runs := tinyStudy().Runs()
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	want := []string{"f0-a-attn2-s1", "f0-b-attn2-s1", "f0-c-attn2-s1",
		"f0.5-E2-b-attn2-s1", "f0.5-E8-b-attn2-s1", "f0-b-mlp1-s1", "f0.5-E2-b-mlp1-s1", "f0.5-E8-b-mlp1-s1"}
	if !slices.Equal(ids, want) {
		t.Fatalf("runs %v, want %v (f = 0 once per size, arch and seed; grids merged)", ids, want)
	}
	for _, r := range runs {
		if r.Fraction > 0 && r.Baseline() != "f0-b-"+r.Arch+"-s1" {
			t.Errorf("%s: baseline %s", r.ID, r.Baseline())
		}
	}
}

// TestShards: the shards of a grid together hold every run exactly once,
// for any number of shards.
func TestShards(t *testing.T) {
	s := tinyStudy()
	s.Grids[1].Seeds = []uint64{1, 2, 3}
	runs := s.Runs()
	for n := 1; n <= len(runs)+2; n++ {
		seen := map[string]int{}
		for i := range n {
			sh, err := ParseShard(strconv.Itoa(i) + "/" + strconv.Itoa(n))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range sh.Of(runs) {
				seen[r.ID]++
			}
		}
		if len(seen) != len(runs) {
			t.Errorf("%d shards cover %d of %d runs", n, len(seen), len(runs))
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("%d shards: run %s done %d times", n, id, c)
			}
		}
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0", "1/2/3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Study)
		want string
	}{
		{"f = 1", func(s *Study) { s.Grids[1].Fractions = []float64{1} }, "outside [0, 1)"},
		{"no epochs", func(s *Study) { s.Grids[1].Epochs = nil }, "need a list of epochs"},
		{"unknown size", func(s *Study) { s.Grids[0].Sizes = []string{"xl"} }, `size "xl" is not defined`},
		{"bad name", func(s *Study) { s.Sizes[0].Name = "A/B" }, "lower-case"},
		{"no context", func(s *Study) { s.Model.NCtx = 0 }, "run f0-a-attn2-s1"},
		{"one copy", func(s *Study) { s.Eval.Copies = 1 }, "eval.copies"},
		{"repeated kind", func(s *Study) { s.Data.Kind = data.KindRepeated }, "synthetic language or a text corpus"},
		{"no grid", func(s *Study) { s.Grids = nil }, "no grid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tinyStudy()
			tc.edit(&s)
			err := s.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := tinyStudy().WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestExecuteTiny runs the tiny study end to end and checks that its table
// has every column for every checkpoint of every run, that a second call
// skips every run, and that the analysis finds the baselines and family.
func TestExecuteTiny(t *testing.T) {
	s := tinyStudy()
	dir := t.TempDir()
	var events []string
	opts := Options{Dir: dir, Workers: 2, Event: func(e Event) { events = append(events, e.Kind+" "+e.Run.ID) }}
	if err := Execute(context.Background(), s, s.Runs(), opts); err != nil {
		t.Fatal(err)
	}
	rows, err := Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := s.Train.Checkpoints.List(s.Train.Steps)
	if len(rows) != len(s.Runs())*len(steps) {
		t.Fatalf("%d rows, want %d runs × %d checkpoints", len(rows), len(s.Runs()), len(steps))
	}
	if err := WriteTable(dir, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, ResultsCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	for _, want := range []string{"test_loss", "repeated_loss", "copy_loss", "copy_loss_2", "copy_loss_3", "induction_loss",
		"icl_score", "prefix_L1H1", "copying_L0H0", "context_free_loss", "train_loss"} {
		if !slices.Contains(header, want) {
			t.Errorf("results.csv has no column %q: %v", want, header)
		}
	}
	for _, rec := range recs[1:] {
		run := rec[0]
		for j, v := range rec {
			col := header[j]
			optional := (col == "repeated_loss" && strings.HasPrefix(run, "f0-")) ||
				(col == "train_loss" && rec[slices.Index(header, "step")] == "0") ||
				(strings.Contains(col, "_L1H") && strings.Contains(run, "mlp1"))
			if v == "" && !optional {
				t.Errorf("run %s step %s: column %s is empty", run, rec[slices.Index(header, "step")], col)
			}
		}
	}

	events = nil
	if err := Execute(context.Background(), s, s.Runs(), opts); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if !strings.HasPrefix(e, "skip ") {
			t.Errorf("second call: %s, want every run skipped", e)
		}
	}

	a := Analyze(s, rows)
	if a.Planned != 8 || len(a.Runs) != 8 || len(a.Missing) != 0 {
		t.Fatalf("analysis: planned %d, runs %d, missing %v", a.Planned, len(a.Runs), a.Missing)
	}
	if len(a.Families) != 1 || !slices.Equal(a.Families[0].Sizes, []string{"a", "b", "c"}) {
		t.Errorf("families %+v, want attn2 with sizes a, b, c", a.Families)
	}
	byID := map[string]Run{}
	for _, r := range s.Runs() {
		byID[r.ID] = r
	}
	for _, sm := range a.Runs {
		if !sm.Complete {
			t.Errorf("%s: not complete", sm.Run)
		}
		if sm.Final.Fraction > 0 {
			if want := byID[sm.Run].Baseline(); sm.Baseline != want {
				t.Errorf("%s: baseline %q, want %q", sm.Run, sm.Baseline, want)
			}
			if sm.TestDamage == nil || sm.CopyDamage == nil || sm.PrefixDamage == nil {
				t.Errorf("%s: damages missing: %+v", sm.Run, sm)
			}
		}
	}
}

// TestResume interrupts a run in the middle of training, continues it, and
// checks the results equal those of an uninterrupted run; then it removes
// the checkpoint the interruption saved (as a crash would leave the run) and
// continues from the one before.
func TestResume(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0.5}, Epochs: []int{4}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	runs := s.Runs()[1:] // the f = 0.5 run alone
	ref := t.TempDir()
	if err := Execute(context.Background(), s, runs, Options{Dir: ref}); err != nil {
		t.Fatal(err)
	}
	want, err := Collect(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, crash := range []bool{false, true} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		err := Execute(ctx, s, runs, Options{Dir: dir, Step: func(_ Run, step, _ int) {
			if step == 13 {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("interrupted study: error %v, want train.ErrInterrupted", err)
		}
		rd := RunDir(dir, runs[0].ID)
		if crash {
			if err := os.RemoveAll(train.StepDir(rd, 13)); err != nil {
				t.Fatal(err)
			}
		}
		var resumed int
		err = Execute(context.Background(), s, runs, Options{Dir: dir, Event: func(e Event) {
			if e.Kind == "start" {
				resumed = e.ResumedFrom
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if wantFrom := map[bool]int{false: 13, true: 8}[crash]; resumed != wantFrom {
			t.Errorf("crash=%v: resumed from step %d, want %d", crash, resumed, wantFrom)
		}
		got, err := Collect(dir)
		if err != nil {
			t.Fatal(err)
		}
		// The interruption adds a checkpoint at step 13; compare the others.
		got = slices.DeleteFunc(got, func(r Row) bool { return r.Step == 13 })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("crash=%v: resumed results differ from an uninterrupted run's:\n got %+v\nwant %+v", crash, got, want)
		}
	}
}

// TestBusyRunSkipped: a run that another process holds (its directory
// locked) is skipped, not trained twice; once released, it is trained.
func TestBusyRunSkipped(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	runs := s.Runs()
	dir := t.TempDir()
	unlock, err := lockRun(RunDir(dir, runs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	opts := Options{Dir: dir, Event: func(e Event) { kinds = append(kinds, e.Kind) }}
	if err := Execute(context.Background(), s, runs, opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds, []string{"busy"}) {
		t.Errorf("events while locked: %v, want [busy]", kinds)
	}
	if cps, _ := train.Checkpoints(RunDir(dir, runs[0].ID)); len(cps) != 0 {
		t.Errorf("a locked run was trained: %d checkpoints", len(cps))
	}
	unlock()
	kinds = nil
	if err := Execute(context.Background(), s, runs, opts); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds, []string{"start", "done"}) {
		t.Errorf("events once released: %v, want [start done]", kinds)
	}
}

// TestOtherSettingsRefused: a study directory's runs are never mixed with
// runs of other settings.
func TestOtherSettingsRefused(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	dir := t.TempDir()
	if err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	s.Train.Steps = 30
	err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("a changed study in the same directory: error %v, want one about other settings", err)
	}
}

// TestOtherEvalRefused: runs measured with one eval are not continued with
// another.
func TestOtherEvalRefused(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	dir := t.TempDir()
	if err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	s.Eval.Prompts = 4
	err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "other eval settings") {
		t.Fatalf("a changed eval in the same directory: error %v, want one about other eval settings", err)
	}
}

// TestLegacyRunJSON: a run directory of before run.yaml (its settings in
// run.json) is accepted when its settings are the study's, gains a run.yaml,
// and is refused when they are not.
func TestLegacyRunJSON(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	r := s.Runs()[0]
	env, err := newRunEnv(s.WithDefaults(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(*runInfo)
		want   string
	}{
		{"same settings", func(*runInfo) {}, ""},
		{"other eval", func(i *runInfo) { i.Eval.Copies = 9 }, "other settings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rd := RunDir(dir, r.ID)
			info := env.info
			c.change(&info)
			if err := os.MkdirAll(rd, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := atomicfile.WriteJSON(filepath.Join(rd, run.LegacyConfigFile), info); err != nil {
				t.Fatal(err)
			}
			err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := run.ReadConfig(rd); err != nil || !exists(filepath.Join(rd, run.ConfigFile)) {
					t.Errorf("no run.yaml after Execute: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestRunYAMLRetrains: a study run's run.yaml is an ordinary run config
// that trains the same run again, loss for loss (f = 0 too: a mixture
// budget keeps the baseline on the mixture's unique sequences).
func TestRunYAMLRetrains(t *testing.T) {
	s := tinyStudy()
	s.Train.EvalEvery = 8
	s.Grids = []Grid{{Fractions: []float64{0, 0.5}, Epochs: []int{2}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	dir := t.TempDir()
	if err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Runs() {
		rd := RunDir(dir, r.ID)
		c, err := run.ReadConfig(rd)
		if err != nil {
			t.Fatal(err)
		}
		again := filepath.Join(t.TempDir(), "again")
		if _, err := run.Start(context.Background(), again, c, run.Options{}); err != nil {
			t.Fatal(err)
		}
		a, b := openRun(t, rd), openRun(t, again)
		if len(a.Metrics) != len(b.Metrics) || len(a.Metrics) == 0 {
			t.Fatalf("%s: %d and %d metrics lines", r.ID, len(a.Metrics), len(b.Metrics))
		}
		for i := range a.Metrics {
			x, y := a.Metrics[i], b.Metrics[i]
			if !reflect.DeepEqual(x.Loss, y.Loss) || !reflect.DeepEqual(x.EvalLoss, y.EvalLoss) {
				t.Errorf("%s step %d: loss %v/%v, held-out %v/%v", r.ID, x.Step, x.Loss, y.Loss, x.EvalLoss, y.EvalLoss)
			}
		}
	}
}

func openRun(t *testing.T, dir string) *run.Run {
	t.Helper()
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMerge: a study directory without results is ErrNoResults; one with
// results gets its table and analysis.
func TestMerge(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	dir := t.TempDir()
	if _, err := Merge(dir, s); !errors.Is(err, ErrNoResults) {
		t.Errorf("empty directory: %v, want ErrNoResults", err)
	}
	if err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	a, err := Merge(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Runs) != 1 || !exists(filepath.Join(dir, ResultsCSV)) || !exists(filepath.Join(dir, ResultsJSONL)) {
		t.Errorf("%d runs analyzed; tables written: %v", len(a.Runs), exists(filepath.Join(dir, ResultsCSV)))
	}
}

// TestChangedConfigKeepsStudyFile: a study whose settings changed since its runs were made
// is refused before study.json is rewritten, whichever shard is asked for, so the table and
// the report still read the study the runs belong to. Before, each run was refused but
// study.json already held the new settings, and every run showed as unfinished.
func TestChangedConfigKeepsStudyFile(t *testing.T) {
	s := tinyStudy()
	dir := t.TempDir()
	first := s.Runs()[:1]
	if err := Execute(context.Background(), s, first, Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StudyFile)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := s
	changed.Train.LR *= 2
	for name, runs := range map[string][]Run{"the made run": first, "another shard": changed.Runs()[1:2]} {
		err := Execute(context.Background(), changed, runs, Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "other settings than this study's") || !strings.Contains(err.Error(), first[0].ID) {
			t.Errorf("%s: Execute with a changed config = %v, want the run refused", name, err)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%s: study.json was rewritten by a refused Execute", name)
		}
	}
}

// TestExecuteWorkerPanic: a panic on one of Execute's worker goroutines (here from the
// Event callback, which runs on them, on a locked run's "busy") comes back from Execute as
// an error; before, it ended the process.
func TestExecuteWorkerPanic(t *testing.T) {
	s := tinyStudy()
	s.Grids = []Grid{{Fractions: []float64{0}, Sizes: []string{"a"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}}
	runs := s.Runs()
	dir := t.TempDir()
	unlock, err := lockRun(RunDir(dir, runs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = Execute(context.Background(), s, runs, Options{Dir: dir, Workers: 2, Event: func(e Event) { panic("event " + e.Kind) }})
	var p *parallel.Panic
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "panic: event busy") {
		t.Fatalf("Execute = %v, want the worker's panic as an error", err)
	}
}
