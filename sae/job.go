package sae

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// Corpus is a model's text corpus, read with the model's tokenizer.
type Corpus struct {
	Source    data.Source
	Tokenizer tokenizer.Tokenizer
	// Name names the corpus in cfg.json's dataset_path.
	Name string
}

// OpenCorpus opens the corpus names ("goroot", or text files and
// directories; data.CorpusConfig) as windows at random offsets, seeded,
// tokenized with the tokenizer of the model directory dir (its vocab.json
// and merges.txt, else bytes).
func OpenCorpus(m *models.Model, dir string, names []string, seed uint64) (*Corpus, error) {
	tok, err := tokenizer.ForDir(dir, m.Config.DVocab, models.WrittenByMechinterp(dir))
	if err != nil {
		return nil, err
	}
	dc, err := data.CorpusConfig(names)
	if err != nil {
		return nil, err
	}
	dc.Seed = seed
	tc, err := data.TextOf(dc)
	if err != nil {
		return nil, err
	}
	src, err := data.NewText(tc, tok, seed)
	if err != nil {
		return nil, err
	}
	return &Corpus{Source: src, Tokenizer: tok, Name: strings.Join(names, ",")}, nil
}

// Job is one `mechinterp sae train`: an SAE trained on a model's hook over a
// corpus and saved in SAELens's layout.
type Job struct {
	Model string   // checkpoint directory
	Data  []string // corpus names (default goroot)
	Store StoreConfig
	SAE   Config
	Out   string // SAE directory
}

// Train runs the job: activations streamed from the store, the SAE
// trained, then saved (with the density measured on its evaluation rows
// and the training record) into j.Out.
func (j Job) Train(ctx context.Context, progress io.Writer) (*Result, error) {
	m, err := models.Load(j.Model)
	if err != nil {
		return nil, err
	}
	if len(j.Data) == 0 {
		j.Data = []string{data.KindGoroot}
	}
	c, err := OpenCorpus(m, j.Model, j.Data, j.Store.Seed)
	if err != nil {
		return nil, err
	}
	if j.Store.Cache.Dir != "" {
		j.Store.Cache.Corpus = fmt.Sprintf("%s, seed %d", c.Name, j.Store.Seed)
		j.Store.Cache.ModelName = filepath.Clean(j.Model)
	}
	st, err := NewStore(ctx, m, c.Source, c.Tokenizer.BOS(), j.Store)
	if err != nil {
		return nil, err
	}
	res, err := TrainStore(ctx, st, j.SAE, progress)
	if err != nil {
		return nil, err
	}
	sc := st.Config()
	lc := LensConfig{ModelName: filepath.Clean(j.Model), HookName: sc.Hook, HookLayer: hookLayer(sc.Hook),
		ContextSize: sc.Context, DatasetPath: c.Name, ScalingFactor: st.Scale()}
	rec := *res
	rec.Model = nil // the weights are in sae_weights.safetensors
	if err := res.Model.Save(j.Out, lc, res.Density, &rec); err != nil {
		return nil, err
	}
	return res, nil
}

// hookLayer is the layer of a blocks.L.* hook name (0 otherwise).
func hookLayer(name string) int {
	if rest, ok := strings.CutPrefix(name, "blocks."); ok {
		if i := strings.IndexByte(rest, '.'); i > 0 {
			if l, err := strconv.Atoi(rest[:i]); err == nil {
				return l
			}
		}
	}
	return 0
}

// EvalJob measures the SAE in dir on the model directory model at the hook
// its cfg.json names, over the corpus names, with batches batches of 8
// contexts.
func EvalJob(ctx context.Context, model, dir string, names []string, batches int, seed uint64) (*Metrics, error) {
	m, err := models.Load(model)
	if err != nil {
		return nil, err
	}
	s, lc, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = []string{data.KindGoroot}
	}
	c, err := OpenCorpus(m, model, names, seed)
	if err != nil {
		return nil, err
	}
	if lc.HookName == "" {
		return nil, fmt.Errorf("sae: %s names no hook_name", filepath.Join(dir, CfgFile))
	}
	return Evaluate(ctx, m, s, c.Source, EvalConfig{Hook: lc.HookName, Batches: batches, BOS: c.Tokenizer.BOS()})
}

// DashboardJob builds the dashboards of `mechinterp neurons` (saeDir "":
// the units are the hook's dimensions) and `mechinterp features` (the
// features of the SAE in saeDir, at the hook its cfg.json names) for the
// model directory model over contexts contexts of the corpus names.
func DashboardJob(ctx context.Context, model, saeDir, hook string, names []string, contexts int, seed uint64) (*Dashboard, error) {
	set, err := OpenDashboards(model, saeDir, names, contexts, seed)
	if err != nil {
		return nil, err
	}
	if saeDir != "" {
		return set.Features(ctx)
	}
	if hook == "" {
		return nil, fmt.Errorf("sae: no hook point named")
	}
	return set.Dashboard(ctx, hook)
}

// MaxDashboardContexts bounds the contexts a dashboard reads.
const MaxDashboardContexts = 1 << 14

// DashboardSet builds the dashboards of one model, its neurons at any hook
// and the features of one SAE, over the same contexts of one corpus, read
// and tokenized once (what `mechinterp serve` shows). Its methods may be
// called from several goroutines; they run one at a time.
type DashboardSet struct {
	Model *models.Model
	// SAE and SAEHook: the SAE of the feature dashboard and its hook (nil
	// and "" without one).
	SAE      *SAE
	SAEHook  string
	corpus   *Corpus
	start    []byte
	contexts int
	mu       sync.Mutex
}

// OpenDashboards loads the model directory model, the SAE in saeDir ("":
// none) and the corpus names (default goroot) with the given seed, of
// which each dashboard reads contexts contexts (0: 256).
func OpenDashboards(model, saeDir string, names []string, contexts int, seed uint64) (*DashboardSet, error) {
	if contexts < 0 || contexts > MaxDashboardContexts {
		return nil, fmt.Errorf("sae: dashboards of %d contexts: want 1 to %d (0: 256)", contexts, MaxDashboardContexts)
	}
	m, err := models.Load(model)
	if err != nil {
		return nil, err
	}
	set := &DashboardSet{Model: m, contexts: contexts}
	if saeDir != "" {
		s, lc, err := Load(saeDir)
		if err != nil {
			return nil, err
		}
		if lc.HookName == "" {
			return nil, fmt.Errorf("sae: %s names no hook_name", filepath.Join(saeDir, CfgFile))
		}
		set.SAE, set.SAEHook = s, lc.HookName
	}
	if len(names) == 0 {
		names = []string{data.KindGoroot}
	}
	if set.corpus, err = OpenCorpus(m, model, names, seed); err != nil {
		return nil, err
	}
	if set.start, err = set.corpus.Source.State(); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	return set, nil
}

// Dashboard builds the dashboard of the neurons (dimensions) at hook.
func (d *DashboardSet) Dashboard(ctx context.Context, hook string) (*Dashboard, error) {
	return d.build(ctx, nil, hook)
}

// Features builds the dashboard of the SAE's features.
func (d *DashboardSet) Features(ctx context.Context) (*Dashboard, error) {
	if d.SAE == nil {
		return nil, fmt.Errorf("sae: no SAE was given")
	}
	return d.build(ctx, d.SAE, d.SAEHook)
}

func (d *DashboardSet) build(ctx context.Context, s *SAE, hook string) (*Dashboard, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Every dashboard reads the same contexts.
	if err := d.corpus.Source.Restore(d.start); err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	bos := d.corpus.Tokenizer.BOS()
	return Dashboards(ctx, d.Model, s, d.corpus.Source, d.corpus.Tokenizer, DashboardConfig{Hook: hook, Contexts: d.contexts, BOS: bos})
}
