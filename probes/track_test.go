package probes

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// handRun writes checkpoints (models of different seeds, one architecture)
// at the given steps and a metrics log with a loss per step.
func handRun(t *testing.T, run string, steps ...int) {
	t.Helper()
	testmodel.Run(t, run, testmodel.Tiny, steps...)
	var b strings.Builder
	for s := 0; s <= 20; s++ {
		fmt.Fprintf(&b, `{"step":%d,"tokens":0,"loss":%g,"lr":0.001,"time_s":0,"tokens_per_s":0}`+"\n", s, 3-0.05*float64(s))
	}
	if err := os.WriteFile(filepath.Join(run, train.MetricsFile), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTrackIncremental: the first call probes every checkpoint, the second
// none, a third only the one added; the cached records equal fresh ones.
func TestTrackIncremental(t *testing.T) {
	run := t.TempDir()
	handRun(t, run, 0, 1, 2, 4)
	var progress []int
	o := TrackOptions{Workers: 2, Heads: HeadOptions{Repeat: RepeatOptions{Batch: 4}}, ICLBatch: 4,
		Progress: func(done, total, step int) { progress = append(progress, done) }}
	first, err := Track(context.Background(), run, o)
	if err != nil {
		t.Fatal(err)
	}
	if first.Computed != 4 || len(first.Records) != 4 || len(progress) != 4 || first.Layers != 2 || first.Heads != 2 {
		t.Fatalf("first call: computed %d, %d records, progress %v", first.Computed, len(first.Records), progress)
	}
	for i, r := range first.Records {
		if r.Step != []int{0, 1, 2, 4}[i] || len(r.PrefixMatching) != 2 || len(r.Roles[1]) != 2 {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if r := first.Records[2]; r.TrainLoss == nil || *r.TrainLoss != 2.9 || r.EvalLoss != nil {
		t.Errorf("losses at step 2: %v %v", r.TrainLoss, r.EvalLoss)
	}
	if first.Records[0].ICL.Early != 1 || first.Records[0].ICL.Late != 15 {
		t.Errorf("ICL positions %+v", first.Records[0].ICL)
	}
	// The records are those of Heads on each checkpoint.
	m, _ := models.Load(train.StepDir(run, 2))
	s, err := Heads(m, o.Heads)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.PrefixMatching, first.Records[2].PrefixMatching) || !reflect.DeepEqual(s.Copying, first.Records[2].Copying) {
		t.Error("Track's scores differ from Heads'")
	}

	second, err := Track(context.Background(), run, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Computed != 0 || !reflect.DeepEqual(second.Records, first.Records) {
		t.Errorf("second call computed %d; records equal: %v", second.Computed, reflect.DeepEqual(second.Records, first.Records))
	}

	handRun(t, run, 8)
	third, err := Track(context.Background(), run, o)
	if err != nil {
		t.Fatal(err)
	}
	if third.Computed != 1 || len(third.Records) != 5 || !reflect.DeepEqual(third.Records[:4], first.Records) {
		t.Errorf("third call computed %d of %d", third.Computed, len(third.Records))
	}

	// Other options: everything is recomputed.
	o.Heads.Repeat.Seed = 7
	fourth, err := Track(context.Background(), run, o)
	if err != nil {
		t.Fatal(err)
	}
	if fourth.Computed != 5 {
		t.Errorf("new options: computed %d, want 5", fourth.Computed)
	}

	// track.csv: a header and one row per checkpoint and head.
	f, err := os.Open(fourth.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+5*4 || !reflect.DeepEqual(rows[0], TrackCSVHeader) || rows[1][0] != "0" || rows[len(rows)-1][0] != "8" {
		t.Errorf("csv: %d rows, header %v", len(rows), rows[0])
	}
	if _, err := os.Stat(filepath.Join(run, TrackDir, TrackJSONL)); err != nil {
		t.Error(err)
	}
}

// TestTrackTrainedRun tracks a run written by train.Run: a few steps of a
// tiny model, every checkpoint probed, losses attached from its log.
func TestTrackTrainedRun(t *testing.T) {
	run := t.TempDir()
	testmodel.Trained(t, run, testmodel.Tiny, 12)
	cps, _ := train.Checkpoints(run)
	res, err := Track(context.Background(), run, TrackOptions{Heads: HeadOptions{Repeat: RepeatOptions{Batch: 4}}, ICLBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Computed != len(cps) || len(cps) < 4 || len(res.Loss.Steps) != 12 || len(res.Formation) != 4 {
		t.Errorf("computed %d of %d checkpoints, %d losses, %d formations", res.Computed, len(cps), len(res.Loss.Steps), len(res.Formation))
	}
	for _, r := range res.Records {
		if (r.Step == 0) != (r.TrainLoss == nil) {
			t.Errorf("step %d: train loss %v", r.Step, r.TrainLoss)
		}
	}
}

func TestTrackErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	other := t.TempDir()
	handRun(t, other, 0, 5)
	c := testmodel.Tiny
	c.NLayers = 1
	testmodel.Save(t, train.StepDir(other, 10), c)
	for _, tc := range []struct{ run, want string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "is a file, not a run directory"},
		{dir, "no checkpoints in"},
		{other, "has another architecture"},
	} {
		_, err := Track(context.Background(), tc.run, TrackOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.run, err, tc.want)
		}
	}
	// n_layers is named.
	if _, err := Track(context.Background(), other, TrackOptions{}); !strings.Contains(err.Error(), "n_layers 1, not 2") {
		t.Errorf("error %v does not name the difference", err)
	}
}

func TestFormations(t *testing.T) {
	rec := func(step int, a, b float64) TrackRecord {
		return TrackRecord{Step: step, HeadMaps: HeadMaps{PrefixMatching: [][]float64{{a, b}}}}
	}
	// Head 0 crosses at step 4, dips at 8, is back for good at 16; head 1
	// never stays.
	recs := []TrackRecord{rec(0, 0.1, 0.1), rec(4, 0.5, 0.2), rec(8, 0.3, 0.5), rec(16, 0.6, 0.3), rec(32, 0.9, 0.2)}
	got := Formations(recs, 0.4)
	want := []Formation{{Layer: 0, Head: 0, Formed: true, Step: 16, Final: 0.9, Max: 0.9},
		{Layer: 0, Head: 1, Formed: false, Step: -1, Final: 0.2, Max: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := Formations(recs, 0.05); got[0].Step != 0 {
		t.Errorf("above the threshold from the start: %+v", got[0])
	}
}

// TestTrackICLFromRun: in a run directory with a run.yaml, the ICL prompts
// default to the run's held-out data (run.HeldOutData), the same records as
// when it is given; without one, to the built-in default.
func TestTrackICLFromRun(t *testing.T) {
	dir := t.TempDir()
	handRun(t, dir, 0, 2)
	rc := run.DefaultConfig()
	rc.Model = testmodel.Tiny
	rc.Data = data.Config{Kind: data.KindSynthetic, Seed: 3, Synthetic: data.SyntheticConfig{Vocab: 20, MinSpan: 3, MaxSpan: 5}}.WithDefaults()
	if err := run.WriteConfig(dir, rc); err != nil {
		t.Fatal(err)
	}
	o := TrackOptions{Workers: 1, Heads: HeadOptions{Repeat: RepeatOptions{Batch: 4}}, ICLBatch: 4}
	def, err := Track(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	given := o
	given.ICLData = ptrTo(run.HeldOutData(rc.Data))
	exp, err := Track(context.Background(), dir, given)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Computed != 0 || def.Records[0].Key != exp.Records[0].Key {
		t.Errorf("the run's held-out data given explicitly: %d recomputed, keys %s and %s; want the default's records", exp.Computed, def.Records[0].Key, exp.Records[0].Key)
	}
	if err := os.Remove(filepath.Join(dir, run.ConfigFile)); err != nil {
		t.Fatal(err)
	}
	bare, err := Track(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Computed != 2 {
		t.Errorf("without run.yaml: %d recomputed, want 2 (another ICL source)", bare.Computed)
	}
}

// TestTrackRevisions tracks a directory of downloaded revisions: the same
// checkpoints as a run's, renamed as Pythia names its revisions, give the
// same scores and formation steps; and a series of GPT-NeoX directories is
// probed like any other.
func TestTrackRevisions(t *testing.T) {
	runDir := t.TempDir()
	handRun(t, runDir, 0, 3, 10)
	revs := t.TempDir()
	cps, _ := train.Checkpoints(runDir)
	for i, cp := range cps {
		name := []string{"step%d", "step-%d", "step_%d"}[i%3]
		if err := os.Rename(cp.Dir, filepath.Join(revs, fmt.Sprintf(name, cp.Step))); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(revs, "notes"), 0o755) // not a revision
	handRun(t, runDir, 0, 3, 10)
	o := TrackOptions{Heads: HeadOptions{Repeat: RepeatOptions{Batch: 4}}, ICLBatch: 4, Revisions: true}
	got, err := Track(context.Background(), revs, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Revisions = false
	want, err := Track(context.Background(), runDir, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 3 || got.Records[2].Step != 10 {
		t.Fatalf("records %+v", got.Records)
	}
	for i := range want.Records {
		if fmt.Sprint(got.Records[i].PrefixMatching) != fmt.Sprint(want.Records[i].PrefixMatching) {
			t.Errorf("step %d: prefix matching %v, the run's %v", want.Records[i].Step, got.Records[i].PrefixMatching, want.Records[i].PrefixMatching)
		}
	}
	if fmt.Sprint(got.Formation) != fmt.Sprint(want.Formation) {
		t.Errorf("formation %+v, the run's %+v", got.Formation, want.Formation)
	}
	if _, err := os.Stat(filepath.Join(revs, TrackDir, TrackCSV)); err != nil {
		t.Error(err)
	}

	// GPT-NeoX revisions, saved in Hugging Face's layout.
	neox := t.TempDir()
	for _, step := range []int{0, 1000} {
		cfg := models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 32, DVocab: 40, Positional: models.PosRotary,
			RotaryDim: 4, ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true, Seed: uint64(step)}
		m := testmodel.Random(t, cfg, 0.3)
		if err := m.Save(filepath.Join(neox, fmt.Sprintf("step%d", step))); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Track(context.Background(), neox, TrackOptions{Heads: HeadOptions{Repeat: RepeatOptions{Batch: 2}}, ICLBatch: 2, Revisions: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 2 || res.Layers != 2 || res.Heads != 2 {
		t.Errorf("GPT-NeoX revisions: %d records, %d layers, %d heads", len(res.Records), res.Layers, res.Heads)
	}

	for _, tc := range []struct {
		setup func(dir string)
		want  string
	}{
		{func(dir string) {}, "no revisions in"},
		{func(dir string) {
			os.MkdirAll(filepath.Join(dir, "step5"), 0o755)
			os.MkdirAll(filepath.Join(dir, "step-5"), 0o755)
		}, "both name step 5"},
		{func(dir string) { os.MkdirAll(filepath.Join(dir, "step5"), 0o755) }, "config.json"},
	} {
		dir := t.TempDir()
		tc.setup(dir)
		if _, err := Track(context.Background(), dir, TrackOptions{Revisions: true}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestTrackWorkerPanic: a panic on one of Track's worker goroutines (here from the
// Progress callback, which runs on them) comes back from Track as an error; before, it
// ended the process.
func TestTrackWorkerPanic(t *testing.T) {
	run := t.TempDir()
	handRun(t, run, 0, 1, 2)
	o := TrackOptions{Workers: 2, Heads: HeadOptions{Repeat: RepeatOptions{Batch: 4}}, ICLBatch: 4,
		Progress: func(done, total, step int) { panic("progress") }}
	_, err := Track(context.Background(), run, o)
	var p *parallel.Panic
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "panic: progress") {
		t.Fatalf("Track = %v, want the worker's panic as an error", err)
	}
}
