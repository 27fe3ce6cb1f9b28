package repeated

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// Study is a repeated-data study: the base model, data and training that
// every run shares, the named sizes and architectures, and the grids of
// runs. It is the file of `mechinterp repeated --config study.yaml`
// (docs/repeated-data.md describes every key).
type Study struct {
	// Name names the study in the report.
	Name string `json:"name" mapstructure:"name"`
	// Model is the base architecture; a run's size and architecture
	// override d_model, n_heads, n_layers and attn_only.
	Model models.Config `json:"model" mapstructure:"model"`
	// Data is the base source: kind synthetic or text. Its mixture section
	// is set by each run (fraction f, epochs E, sequences from Train, held
	// out from Eval); the rest is shared.
	Data data.Config `json:"data" mapstructure:"data"`
	// Train is the training of every run. Steps × batch_size sequences is
	// the fixed budget that repeated data takes its share of.
	Train train.Config `json:"train" mapstructure:"train"`
	// Eval configures the measurements taken at every checkpoint.
	Eval Eval `json:"eval" mapstructure:"eval"`
	// Analysis holds the thresholds of Analyze.
	Analysis Thresholds `json:"analysis" mapstructure:"analysis"`
	// Sizes and Archs name the model sizes and architectures the grids
	// refer to.
	Sizes []Size `json:"sizes" mapstructure:"sizes"`
	Archs []Arch `json:"archs" mapstructure:"archs"`
	// Grids are crossed products of runs; the study is their union (a run
	// named by two grids is run once).
	Grids []Grid `json:"grids" mapstructure:"grids"`
}

// Size is a named model width.
type Size struct {
	Name   string `json:"name" mapstructure:"name"`
	DModel int    `json:"d_model" mapstructure:"d_model"`
	// NHeads 0 keeps the base model's.
	NHeads int `json:"n_heads" mapstructure:"n_heads"`
}

// Arch is a named depth and block type: Hernandez et al. 2022 compare
// attention-only models, where the induction head can be replaced by
// skip-trigram heads, with models that have MLPs, and 1-layer controls,
// which cannot form induction heads at all.
type Arch struct {
	Name     string `json:"name" mapstructure:"name"`
	NLayers  int    `json:"n_layers" mapstructure:"n_layers"`
	AttnOnly bool   `json:"attn_only" mapstructure:"attn_only"`
}

// Grid is the crossed product Fractions × Epochs × Sizes × Archs × Seeds.
// Every grid also holds its f = 0 runs (one per size, architecture and seed,
// whatever E): they are the baselines that damage is measured against.
type Grid struct {
	// Fractions are the shares f of the training budget drawn from the
	// repeated subset, in [0, 1).
	Fractions []float64 `json:"fractions" mapstructure:"fractions"`
	// Epochs are the numbers of times E the subset is repeated (a log grid:
	// the damage peaks in a middle band).
	Epochs []int `json:"epochs" mapstructure:"epochs"`
	// Sizes and Archs name entries of Study.Sizes and Study.Archs.
	Sizes []string `json:"sizes" mapstructure:"sizes"`
	Archs []string `json:"archs" mapstructure:"archs"`
	// Seeds seed the model, the data and the order of each run.
	Seeds []uint64 `json:"seeds" mapstructure:"seeds"`
}

// Eval configures the measurements of every checkpoint.
type Eval struct {
	// HeldOut is the number of held-out unique sequences the test loss is
	// taken on (the first ones of the base source, the same for every run).
	HeldOut int `json:"held_out" mapstructure:"held_out"`
	// SubsetSample caps the number of subset sequences the repeated-subset
	// loss is taken on.
	SubsetSample int `json:"subset_sample" mapstructure:"subset_sample"`
	// Copies is k of the copying evaluation: a held-out passage repeated k
	// times in context, loss on copies 2..k. The passage is as long as fits
	// n_ctx.
	Copies int `json:"copies" mapstructure:"copies"`
	// Passages is the number of held-out passages of the copying evaluation
	// and of the ICL score.
	Passages int `json:"passages" mapstructure:"passages"`
	// Prompts is the number of [BOS] + r + r prompts of prefix matching,
	// copying scores and induction loss.
	Prompts int `json:"prompts" mapstructure:"prompts"`
}

// Thresholds are the criteria Analyze applies.
type Thresholds struct {
	// Induction is the prefix-matching score at which an induction head
	// counts as formed (default 0.4, probes.Thresholds' role threshold).
	Induction float64 `json:"induction" mapstructure:"induction"`
	// DelayFactor: formation later than DelayFactor × the baseline's
	// formation step counts as delayed (default 1.5).
	DelayFactor float64 `json:"delay_factor" mapstructure:"delay_factor"`
	// MemorizedLoss is the repeated-subset loss counted as memorized
	// (default 0.1 nats: "nears zero").
	MemorizedLoss float64 `json:"memorized_loss" mapstructure:"memorized_loss"`
	// DescentRise is the rise of test loss above its running minimum, in
	// nats, counted as double descent (default 0.05).
	DescentRise float64 `json:"descent_rise" mapstructure:"descent_rise"`
}

// WithDefaults fills the evaluation and analysis settings left at zero.
func (s Study) WithDefaults() Study {
	if s.Name == "" {
		s.Name = "repeated-data study"
	}
	e := &s.Eval
	if e.HeldOut == 0 {
		e.HeldOut = 256
	}
	if e.SubsetSample == 0 {
		e.SubsetSample = 256
	}
	if e.Copies == 0 {
		e.Copies = 4
	}
	if e.Passages == 0 {
		e.Passages = 64
	}
	if e.Prompts == 0 {
		e.Prompts = 64
	}
	a := &s.Analysis
	if a.Induction == 0 {
		a.Induction = 0.4
	}
	if a.DelayFactor == 0 {
		a.DelayFactor = 1.5
	}
	if a.MemorizedLoss == 0 {
		a.MemorizedLoss = 0.1
	}
	if a.DescentRise == 0 {
		a.DescentRise = 0.05
	}
	s.Data = s.Data.WithDefaults()
	return s
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// Validate reports every problem of s (after WithDefaults): names, grid
// values out of range, sizes and architectures that a grid names but the
// study does not define, and runs whose models or data would not build.
func (s Study) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	sizes := map[string]Size{}
	for i, z := range s.Sizes {
		switch {
		case !nameRE.MatchString(z.Name):
			bad("sizes[%d]: name %q must be lower-case letters, digits and _", i, z.Name)
		case sizes[z.Name] != (Size{}):
			bad("sizes: %q is defined twice", z.Name)
		case z.DModel <= 0:
			bad("sizes[%d] %q: d_model must be positive, got %d", i, z.Name, z.DModel)
		case z.NHeads < 0:
			bad("sizes[%d] %q: n_heads must not be negative", i, z.Name)
		}
		sizes[z.Name] = z
	}
	archs := map[string]Arch{}
	for i, a := range s.Archs {
		switch {
		case !nameRE.MatchString(a.Name):
			bad("archs[%d]: name %q must be lower-case letters, digits and _", i, a.Name)
		case archs[a.Name] != (Arch{}):
			bad("archs: %q is defined twice", a.Name)
		case a.NLayers <= 0:
			bad("archs[%d] %q: n_layers must be positive, got %d", i, a.Name, a.NLayers)
		}
		archs[a.Name] = a
	}
	if len(s.Grids) == 0 {
		bad("grids: the study has no grid of runs")
	}
	for g, grid := range s.Grids {
		where := fmt.Sprintf("grids[%d]", g)
		if len(grid.Fractions) == 0 || len(grid.Sizes) == 0 || len(grid.Archs) == 0 || len(grid.Seeds) == 0 {
			bad("%s: fractions, sizes, archs and seeds must each list at least one value", where)
		}
		repeats := false
		for _, f := range grid.Fractions {
			if !(f >= 0 && f < 1) {
				bad("%s: fraction %v is outside [0, 1)", where, f)
			}
			repeats = repeats || f > 0
		}
		if repeats && len(grid.Epochs) == 0 {
			bad("%s: fractions above 0 need a list of epochs", where)
		}
		for _, e := range grid.Epochs {
			if e < 1 {
				bad("%s: epochs %d must be at least 1", where, e)
			}
		}
		for _, n := range grid.Sizes {
			if _, ok := sizes[n]; !ok {
				bad("%s: size %q is not defined under sizes", where, n)
			}
		}
		for _, n := range grid.Archs {
			if _, ok := archs[n]; !ok {
				bad("%s: arch %q is not defined under archs", where, n)
			}
		}
	}
	switch s.Data.Kind {
	case data.KindSynthetic, data.KindText:
	default:
		bad("data.kind %q: a study trains on the synthetic language or a text corpus", s.Data.Kind)
	}
	e := s.Eval
	if e.HeldOut <= 0 || e.SubsetSample <= 0 || e.Passages <= 0 || e.Prompts <= 0 {
		bad("eval: held_out, subset_sample, passages and prompts must be positive")
	}
	if e.Copies < 2 {
		bad("eval.copies must be at least 2, got %d", e.Copies)
	}
	if err := s.Train.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := s.Data.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	for _, r := range s.Runs() {
		if _, err := s.ModelConfig(r, 1); err != nil {
			return fmt.Errorf("study: run %s: %w", r.ID, err)
		}
	}
	return nil
}

// Run is one training run of a study.
type Run struct {
	// ID names the run and its directory: f0.5-E64-m-attn2-s1, or
	// f0-m-attn2-s1 for a baseline.
	ID       string  `json:"id"`
	Fraction float64 `json:"fraction"`
	Epochs   int     `json:"epochs"`
	Size     string  `json:"size"`
	Arch     string  `json:"arch"`
	Seed     uint64  `json:"seed"`
}

// Baseline is the ID of r's f = 0 run.
func (r Run) Baseline() string { return runID(0, 0, r.Size, r.Arch, r.Seed) }

func runID(f float64, e int, size, arch string, seed uint64) string {
	if f == 0 {
		return fmt.Sprintf("f0-%s-%s-s%d", size, arch, seed)
	}
	return fmt.Sprintf("f%s-E%d-%s-%s-s%d", strconv.FormatFloat(f, 'g', -1, 64), e, size, arch, seed)
}

// Runs expands the grids into runs, in grid order (seed, arch, size,
// fraction, epochs innermost), each once.
func (s Study) Runs() []Run {
	var out []Run
	seen := map[string]bool{}
	add := func(r Run) {
		r.ID = runID(r.Fraction, r.Epochs, r.Size, r.Arch, r.Seed)
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	for _, g := range s.Grids {
		fracs := append([]float64{0}, g.Fractions...)
		for _, seed := range g.Seeds {
			for _, arch := range g.Archs {
				for _, size := range g.Sizes {
					for _, f := range fracs {
						if f == 0 {
							add(Run{Size: size, Arch: arch, Seed: seed})
							continue
						}
						for _, e := range g.Epochs {
							add(Run{Fraction: f, Epochs: e, Size: size, Arch: arch, Seed: seed})
						}
					}
				}
			}
		}
	}
	return out
}

// ModelConfig is the model of run r: the base model with the run's size
// and architecture, seeded by the run's seed, with d_vocab (if 0) taken
// from vocab.
func (s Study) ModelConfig(r Run, vocab int) (models.Config, error) {
	c := s.Model
	i := slices.IndexFunc(s.Sizes, func(z Size) bool { return z.Name == r.Size })
	j := slices.IndexFunc(s.Archs, func(a Arch) bool { return a.Name == r.Arch })
	if i < 0 || j < 0 {
		return models.Config{}, fmt.Errorf("size %q or arch %q is not defined", r.Size, r.Arch)
	}
	c.DModel = s.Sizes[i].DModel
	if s.Sizes[i].NHeads > 0 {
		c.NHeads = s.Sizes[i].NHeads
	}
	c.DHead, c.DMLP = 0, 0 // derived from the run's width
	c.NLayers, c.AttnOnly = s.Archs[j].NLayers, s.Archs[j].AttnOnly
	c.Seed = r.Seed
	if c.DVocab == 0 {
		c.DVocab = vocab
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// DataConfig is the data of run r: the base source seeded by the run's
// seed, with the run's mixture over the study's budget.
func (s Study) DataConfig(r Run) data.Config {
	c := s.Data
	c.Seed = r.Seed
	c.Mixture = data.MixtureConfig{
		Fraction:  r.Fraction,
		Epochs:    max(r.Epochs, 1),
		Sequences: s.Train.Steps * s.Train.BatchSize,
		HeldOut:   s.Eval.HeldOut,
	}
	return c
}

// TrainConfig is the training of run r: the study's, seeded by the run.
func (s Study) TrainConfig(r Run) train.Config {
	c := s.Train
	c.Seed = r.Seed
	return c
}

// NonEmbeddingParams counts the parameters of c outside the embeddings and
// the unembedding (Kaplan et al. 2020): per layer the attention's QKV and
// output weights and biases, the MLP's, and the LayerNorms.
func NonEmbeddingParams(c models.Config) int {
	attn := 3*c.NHeads*c.DHead*(c.DModel+1) + c.NHeads*c.DHead*c.DModel + c.DModel
	block := attn
	ln := 0
	if c.HasLN() {
		ln = 2 * c.DModel
	}
	block += ln
	if !c.AttnOnly {
		block += c.DModel*c.DMLP + c.DMLP + c.DMLP*c.DModel + c.DModel + ln
	}
	return c.NLayers*block + ln
}

// Shard is one part of a study's runs: shard I of N takes the runs whose
// index in grid order is I mod N, so N shards together run every run once.
type Shard struct{ I, N int }

// ParseShard reads "i/n" with 0 <= i < n (Slurm's $SLURM_ARRAY_TASK_ID of an
// array 0-(n-1), Kubernetes' $JOB_COMPLETION_INDEX); "" is the whole grid.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{0, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, such as 0/4", s)
	}
	return Shard{i, n}, nil
}

// Of returns the runs of the shard.
func (sh Shard) Of(runs []Run) []Run {
	var out []Run
	for k, r := range runs {
		if k%sh.N == sh.I {
			out = append(out, r)
		}
	}
	return out
}

// DefaultConfig is the default study (default.yaml): a 2-layer
// attention-only model on the synthetic language with a bigram skill beside
// the induction one, an f = 0 family of three widths, a log grid of E at two
// repeated shares, and a 1-layer control and an MLP model beside it.
// docs/repeated-data.md gives its figures and running time.
//
//go:embed default.yaml
var DefaultConfig []byte
