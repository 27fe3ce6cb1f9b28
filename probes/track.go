package probes

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/internal/parallel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// Files Track writes under RUN/track/.
const (
	TrackDir   = run.TrackDir
	TrackJSONL = "track.jsonl"
	TrackCSV   = "track.csv"
)

// TrackOptions configure Track. The zero value probes every checkpoint with
// Heads' defaults on GOMAXPROCS workers and a formation threshold of 0.4.
type TrackOptions struct {
	// Heads are the options of the head scores (see Heads).
	Heads HeadOptions `json:"heads"`
	// ICLData is the source of the held-out prompts of the ICL score, each
	// n_ctx tokens long. Nil means the run's held-out data (run.HeldOutData
	// of its run.yaml: the training distribution under another seed); for a
	// directory without run.yaml, the synthetic language at the model's
	// vocabulary when its context holds the language's spans, else random
	// tokens with a repeat of random length.
	ICLData *data.Config `json:"icl_data,omitempty"`
	// ICLBatch is the number of ICL prompts (default 32).
	ICLBatch int `json:"icl_batch"`
	// Workers is the number of checkpoints probed at once (default
	// runtime.GOMAXPROCS(0)).
	Workers int `json:"-"`
	// Threshold is the prefix-matching score at which an induction head
	// counts as formed (default 0.4).
	Threshold float64 `json:"-"`
	// SmoothWindow is FindBump's window (0: its default).
	SmoothWindow int `json:"-"`
	// Revisions reads dir as a series of downloaded checkpoints instead of
	// a run: one Hugging Face directory per revision, named by its training
	// step as Pythia's revisions are (step1000, step-1000 or step_1000).
	// Track writes under dir/track/ as for a run; there is no loss log.
	Revisions bool `json:"-"`
	// Progress, if set, is called after each checkpoint is probed, with the
	// number done, the number to do in this call and the checkpoint's step.
	Progress func(done, total, step int) `json:"-"`
}

// TrackRecord is one checkpoint's line of track.jsonl.
type TrackRecord struct {
	Step int `json:"step"`
	// Key fingerprints the architecture and the options the scores were
	// computed with; records with another key are recomputed.
	Key string `json:"key"`
	HeadMaps
	// InductionLoss and FirstCopyLoss are InductionLoss.Loss and FirstCopy.
	InductionLoss float64 `json:"induction_loss"`
	FirstCopyLoss float64 `json:"first_copy_loss"`
	ICL           ICL     `json:"icl"`
	// TrainLoss and EvalLoss are the run's metrics at this step (nil when
	// the log has none), refreshed from metrics.jsonl on every call.
	TrainLoss *float64 `json:"train_loss"`
	EvalLoss  *float64 `json:"eval_loss"`
}

// Formation is when one head's prefix-matching score crossed the threshold
// and stayed above it for every later checkpoint.
type Formation struct {
	Layer int `json:"layer"`
	Head  int `json:"head"`
	// Formed is false when the last checkpoint is below the threshold;
	// Step is then -1.
	Formed bool `json:"formed"`
	Step   int  `json:"step"`
	// Final and Max are the last and the largest prefix-matching scores.
	Final float64 `json:"final"`
	Max   float64 `json:"max"`
}

// LossCurve is the training loss of the run, from metrics.jsonl.
type LossCurve struct {
	Steps  []int     `json:"steps"`
	Loss   []float64 `json:"loss"`
	Smooth []float64 `json:"smooth"`
	// EvalSteps and Eval are the held-out losses, where logged.
	EvalSteps []int     `json:"eval_steps"`
	Eval      []float64 `json:"eval"`
}

// TrackResult is what Track found.
type TrackResult struct {
	Run    string `json:"run"`
	Layers int    `json:"layers"`
	Heads  int    `json:"heads"`
	// Records holds every checkpoint, by step.
	Records []TrackRecord `json:"records"`
	// Computed is the number of checkpoints probed by this call (the others
	// came from track.jsonl).
	Computed  int         `json:"computed"`
	Threshold float64     `json:"threshold"`
	Formation []Formation `json:"formation"`
	Bump      Bump        `json:"bump"`
	Loss      LossCurve   `json:"loss"`
	// JSONL and CSV are the files written.
	JSONL string `json:"jsonl"`
	CSV   string `json:"csv"`
}

// Track probes every checkpoint of a training run (train.Checkpoints): all
// head scores (Heads), the induction loss and the ICL score, with the
// training loss at that step from RUN/metrics.jsonl. Checkpoints are probed
// in parallel. Results are cached in RUN/track/track.jsonl, so a second call
// probes only checkpoints that are new (or were probed with other options);
// track.jsonl and track.csv (one row per checkpoint and head) are rewritten
// atomically. It then names, per head, the step at which its prefix-matching
// score crossed the threshold for good (Olsson et al. 2022: induction heads
// form at the loss bump) and locates the bump in the training loss
// (FindBump). Cancelling ctx stops after the checkpoints under way, keeps
// what was computed in track.jsonl and returns ctx's error.
func Track(ctx context.Context, dir string, o TrackOptions) (*TrackResult, error) {
	cps, cfg, err := trackCheckpoints(dir, o.Revisions)
	if err != nil {
		return nil, err
	}
	if err := o.resolve(dir, cfg); err != nil {
		return nil, err
	}
	iclTokens, err := iclPrompts(*o.ICLData, o.ICLBatch, cfg.NCtx)
	if err != nil {
		return nil, fmt.Errorf("probes: track: ICL prompts: %w", err)
	}
	key, err := trackKey(cfg, o)
	if err != nil {
		return nil, err
	}

	tdir := filepath.Join(dir, TrackDir)
	jsonlPath := filepath.Join(tdir, TrackJSONL)
	cached := readTrackCache(jsonlPath, key)
	var todo []train.Checkpoint
	for _, cp := range cps {
		if _, ok := cached[cp.Step]; !ok {
			todo = append(todo, cp)
		}
	}
	done, firstErr := probeAll(ctx, todo, o, key, iclTokens, cached)

	res := &TrackResult{Run: dir, Layers: cfg.NLayers, Heads: cfg.NHeads, Computed: done, Threshold: o.Threshold,
		JSONL: jsonlPath, CSV: filepath.Join(tdir, TrackCSV)}
	for _, cp := range cps {
		if r, ok := cached[cp.Step]; ok {
			res.Records = append(res.Records, r)
		}
	}
	metrics, _ := train.ReadMetrics(filepath.Join(dir, run.MetricsFile)) // a run without a log has no losses
	res.attachMetrics(metrics, o.SmoothWindow)
	if err := res.write(tdir); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("probes: track: stopped after %d of %d new checkpoints (kept in %s): %w", done, len(todo), jsonlPath, err)
	}
	res.Formation = Formations(res.Records, o.Threshold)
	return res, nil
}

// revisionDirRE matches the directory of a downloaded revision: Pythia's
// step1000, or step-1000, step_1000.
var revisionDirRE = regexp.MustCompile(`^step[-_]?([0-9]+)$`)

// Revisions lists the revision directories of dir (see
// TrackOptions.Revisions), by step. Two directories naming one step are an
// error.
func Revisions(dir string) ([]train.Checkpoint, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []train.Checkpoint
	seen := map[int]string{}
	for _, e := range ents {
		m := revisionDirRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if prev, dup := seen[step]; dup {
			return nil, fmt.Errorf("%s and %s both name step %d", prev, e.Name(), step)
		}
		seen[step] = e.Name()
		out = append(out, train.Checkpoint{Step: step, Dir: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// trackCheckpoints lists the checkpoints of the run in dir (or its
// revisions) and the architecture they share.
func trackCheckpoints(dir string, revisions bool) ([]train.Checkpoint, models.Config, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, models.Config{}, fmt.Errorf("probes: track: run directory %s does not exist", dir)
	case err != nil:
		return nil, models.Config{}, fmt.Errorf("probes: track: %w", err)
	case !st.IsDir():
		return nil, models.Config{}, fmt.Errorf("probes: track: %s is a file, not a run directory", dir)
	}
	if revisions {
		cps, err := Revisions(dir)
		if err != nil {
			return nil, models.Config{}, fmt.Errorf("probes: track: %w", err)
		}
		if len(cps) == 0 {
			return nil, models.Config{}, fmt.Errorf("probes: track: no revisions in %s (want one Hugging Face directory per revision, named step1000, step-1000 or step_1000)", dir)
		}
		return sameArch(cps)
	}
	cps, err := train.Checkpoints(dir)
	if err != nil {
		return nil, models.Config{}, fmt.Errorf("probes: track: %w", err)
	}
	if len(cps) == 0 {
		return nil, models.Config{}, fmt.Errorf("probes: track: no checkpoints in %s (want %s; for downloaded revisions, --revisions)", dir, filepath.Join(dir, run.CheckpointsDir, "step-NNNNNN"))
	}
	return sameArch(cps)
}

// sameArch returns the architecture the checkpoints share, or an error
// naming the first that differs.
func sameArch(cps []train.Checkpoint) ([]train.Checkpoint, models.Config, error) {
	var cfg models.Config
	for i, cp := range cps {
		c, err := models.ReadConfig(cp.Dir)
		if err != nil {
			return nil, models.Config{}, fmt.Errorf("probes: track: %w", err)
		}
		if i == 0 {
			cfg = c
			continue
		}
		if d := archDiff(cfg, c); d != "" {
			return nil, models.Config{}, fmt.Errorf("probes: track: checkpoint %s has another architecture than %s (%s)", cp.Dir, cps[0].Dir, d)
		}
	}
	return cps, cfg, nil
}

// resolve fills the options left at zero for the run in dir, whose
// checkpoints have architecture cfg. The ICL prompts default to the run's
// held-out data (run.HeldOutData of its run.yaml) when it has a readable
// one, else to defaultICLData.
func (o *TrackOptions) resolve(dir string, cfg models.Config) error {
	if o.Threshold == 0 {
		o.Threshold = 0.4
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ICLBatch <= 0 {
		o.ICLBatch = 32
	}
	var err error
	if o.Heads.Repeat, err = o.Heads.Repeat.resolve(cfg); err != nil {
		return fmt.Errorf("probes: track: %w", err)
	}
	o.Heads.Thresholds = o.Heads.Thresholds.WithDefaults()
	if o.ICLData == nil {
		if rc, err := run.ReadConfig(dir); err == nil {
			o.ICLData = ptrTo(run.HeldOutData(rc.Data))
		} else {
			o.ICLData = ptrTo(defaultICLData(cfg))
		}
	}
	return nil
}

func ptrTo[T any](x T) *T { return &x }

// probeAll probes the checkpoints todo, o.Workers at a time, into cached.
// It stops handing out checkpoints at the first error or when ctx is
// cancelled, and returns the number probed and the first error (a worker's
// panic is one).
func probeAll(ctx context.Context, todo []train.Checkpoint, o TrackOptions, key string, icl []int, cached map[int]TrackRecord) (int, error) {
	var (
		mu       sync.Mutex
		firstErr error
		done     int
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil || ctx.Err() != nil
	}
	perr := parallel.Each(len(todo), o.Workers, stop, func(i int) {
		cp := todo[i]
		rec, err := probeCheckpoint(cp, o, key, icl)
		mu.Lock()
		defer mu.Unlock() // a panicking Progress must not leave mu held
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil {
			cached[cp.Step] = *rec
			done++
			if o.Progress != nil {
				o.Progress(done, len(todo), cp.Step)
			}
		}
	})
	if perr != nil && firstErr == nil {
		firstErr = fmt.Errorf("probes: track: %w", perr)
	}
	return done, firstErr
}

// write rewrites track.jsonl and track.csv in dir from the records (none
// when there are no records).
func (res *TrackResult) write(dir string) error {
	if len(res.Records) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("probes: track: %w", err)
	}
	if err := writeTrackJSONL(res.JSONL, res.Records); err != nil {
		return err
	}
	return writeTrackCSV(res.CSV, res.Records)
}

// archDiff names the first architectural setting in which b differs from a
// ("" when none): everything but the initialization seed and scale.
func archDiff(a, b models.Config) string {
	a, b = a.WithDefaults(), b.WithDefaults()
	for _, d := range []struct {
		name string
		x, y any
	}{
		{"n_layers", a.NLayers, b.NLayers}, {"n_heads", a.NHeads, b.NHeads}, {"d_model", a.DModel, b.DModel},
		{"d_head", a.DHead, b.DHead}, {"d_mlp", a.DMLP, b.DMLP}, {"n_ctx", a.NCtx, b.NCtx},
		{"d_vocab", a.DVocab, b.DVocab}, {"attn_only", a.AttnOnly, b.AttnOnly},
		{"normalization", a.Normalization, b.Normalization}, {"positional", a.Positional, b.Positional},
		{"untied", a.Untied, b.Untied}, {"ln_eps", a.LNEps, b.LNEps},
	} {
		if d.x != d.y {
			return fmt.Sprintf("%s %v, not %v", d.name, d.y, d.x)
		}
	}
	return ""
}

// defaultICLData is the ICL source when none is given (see TrackOptions).
func defaultICLData(c models.Config) data.Config {
	syn := data.SyntheticConfig{Vocab: c.DVocab}.WithDefaults()
	if c.DVocab >= 3 && c.NCtx-1 >= syn.MinT() {
		return data.Config{Kind: data.KindSynthetic, Seed: 0x1c1, Synthetic: syn}
	}
	half := max((c.NCtx-2)/2, 1)
	return data.Config{Kind: data.KindRepeated, Seed: 0x1c1,
		Repeated: data.RepeatedConfig{Vocab: c.DVocab, Len: max(half/2, 1), MaxLen: half}}
}

// iclPrompts draws B prompts of T tokens from the source c describes.
func iclPrompts(c data.Config, B, T int) ([]int, error) {
	src, err := data.New(c)
	if err != nil {
		return nil, err
	}
	b := data.NewBatch(B, T-1) // rows of T tokens
	if err := src.Next(b); err != nil {
		return nil, err
	}
	return b.Tokens, nil
}

func trackKey(cfg models.Config, o TrackOptions) (string, error) {
	cfg.Seed, cfg.InitializerRange, cfg.Init = 0, 0, "" // how it started does not change the scores
	b, err := json.Marshal(struct {
		Format string        `json:"format"`
		Model  models.Config `json:"model"`
		Opts   TrackOptions  `json:"options"`
	}{"mechinterp-track/1", cfg, o})
	if err != nil {
		return "", fmt.Errorf("probes: track: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8]), nil
}

func probeCheckpoint(cp train.Checkpoint, o TrackOptions, key string, icl []int) (*TrackRecord, error) {
	m, err := models.Load(cp.Dir)
	if err != nil {
		return nil, fmt.Errorf("probes: track: %w", err)
	}
	s, err := Heads(m, o.Heads)
	if err != nil {
		return nil, fmt.Errorf("probes: track: checkpoint %s: %w", cp.Dir, err)
	}
	T := m.Config.NCtx
	ic, err := ICLScore(m, icl, len(icl)/T, T)
	if err != nil {
		return nil, fmt.Errorf("probes: track: checkpoint %s: %w", cp.Dir, err)
	}
	return &TrackRecord{Step: cp.Step, Key: key, HeadMaps: s.HeadMaps,
		InductionLoss: s.InductionLoss.Loss, FirstCopyLoss: s.InductionLoss.FirstCopy, ICL: *ic}, nil
}

// readTrackCache returns the records of path computed with key, by step. A
// missing or unreadable file (or line) is no cache.
func readTrackCache(path, key string) map[int]TrackRecord {
	out := map[int]TrackRecord{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r TrackRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Key == key {
			out[r.Step] = r
		}
	}
	return out
}

func writeTrackJSONL(path string, recs []TrackRecord) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for i := range recs {
			if err := enc.Encode(jsonSafe(recs[i])); err != nil {
				return fmt.Errorf("probes: track: step %d: %w", recs[i].Step, err)
			}
		}
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// jsonSafe replaces non-finite losses (which JSON cannot hold) by nil-able
// zero values; scores are always finite.
func jsonSafe(r TrackRecord) TrackRecord {
	fix := func(x *float64) {
		if math.IsNaN(*x) || math.IsInf(*x, 0) {
			*x = 0
		}
	}
	fix(&r.InductionLoss)
	fix(&r.FirstCopyLoss)
	fix(&r.ICL.Score)
	fix(&r.ICL.LossEarly)
	fix(&r.ICL.LossLate)
	return r
}

// TrackCSVHeader is the header of track.csv: one row per checkpoint and
// head, so that the table loads as a tidy data frame.
var TrackCSVHeader = []string{"step", "layer", "head", "previous_token", "duplicate_token", "induction",
	"prefix_matching", "copying", "role", "train_loss", "eval_loss", "induction_loss", "first_copy_loss", "icl_score"}

func writeTrackCSV(path string, recs []TrackRecord) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(TrackCSVHeader); err != nil {
			return err
		}
		f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
		opt := func(x *float64) string {
			if x == nil {
				return ""
			}
			return f(*x)
		}
		for _, r := range recs {
			for l := range r.PrefixMatching {
				for h := range r.PrefixMatching[l] {
					if err := cw.Write([]string{strconv.Itoa(r.Step), strconv.Itoa(l), strconv.Itoa(h),
						f(r.PreviousToken[l][h]), f(r.DuplicateToken[l][h]), f(r.Induction[l][h]),
						f(r.PrefixMatching[l][h]), f(r.Copying[l][h]), r.Roles[l][h],
						opt(r.TrainLoss), opt(r.EvalLoss), f(r.InductionLoss), f(r.FirstCopyLoss), f(r.ICL.Score)}); err != nil {
						return err
					}
				}
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// attachMetrics fills the loss curve, each record's losses and the bump.
func (res *TrackResult) attachMetrics(ms []train.Metrics, window int) {
	trainLoss, eval := map[int]float64{}, map[int]float64{}
	for _, m := range ms {
		if m.Loss != nil {
			res.Loss.Steps = append(res.Loss.Steps, m.Step)
			res.Loss.Loss = append(res.Loss.Loss, *m.Loss)
			trainLoss[m.Step] = *m.Loss
		}
		if m.EvalLoss != nil {
			res.Loss.EvalSteps = append(res.Loss.EvalSteps, m.Step)
			res.Loss.Eval = append(res.Loss.Eval, *m.EvalLoss)
			eval[m.Step] = *m.EvalLoss
		}
	}
	for i := range res.Records {
		r := &res.Records[i]
		r.TrainLoss, r.EvalLoss = nil, nil
		if v, ok := trainLoss[r.Step]; ok {
			r.TrainLoss = &v
		}
		if v, ok := eval[r.Step]; ok {
			r.EvalLoss = &v
		}
	}
	res.Bump = FindBump(res.Loss.Steps, res.Loss.Loss, window)
	res.Loss.Smooth = Smooth(res.Loss.Loss, res.Bump.Window)
}

// Formations returns, for every head, the first checkpoint step from which
// its prefix-matching score stays at or above threshold to the last
// checkpoint (records in step order).
func Formations(recs []TrackRecord, threshold float64) []Formation {
	if len(recs) == 0 {
		return nil
	}
	recs = append([]TrackRecord(nil), recs...)
	sort.Slice(recs, func(i, j int) bool { return recs[i].Step < recs[j].Step })
	var out []Formation
	for l := range recs[0].PrefixMatching {
		for h := range recs[0].PrefixMatching[l] {
			f := Formation{Layer: l, Head: h, Step: -1, Max: math.Inf(-1)}
			last := -1 // the last checkpoint below the threshold
			for i, r := range recs {
				s := r.PrefixMatching[l][h]
				f.Max = max(f.Max, s)
				if s < threshold {
					last = i
				}
			}
			f.Final = recs[len(recs)-1].PrefixMatching[l][h]
			if last < len(recs)-1 {
				f.Formed, f.Step = true, recs[last+1].Step
			}
			out = append(out, f)
		}
	}
	return out
}
