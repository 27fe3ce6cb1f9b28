package superposition

import (
	"context"
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/tensor"
)

//go:embed configs/*.yaml
var configFS embed.FS

// ExperimentConfig is the union of the settings of every experiment; each
// uses the fields it needs. The ready configs in configs/<name>.yaml fill it
// at paper scale; YAML keys are the mapstructure tags.
type ExperimentConfig struct {
	Model       Kind    `json:"model" mapstructure:"model"`
	Features    int     `json:"features" mapstructure:"features"`
	Hidden      int     `json:"hidden" mapstructure:"hidden"`
	Steps       int     `json:"steps" mapstructure:"steps"`
	Batch       int     `json:"batch" mapstructure:"batch"`
	LR          float64 `json:"lr" mapstructure:"lr"`
	WeightDecay float64 `json:"weight_decay" mapstructure:"weight_decay"`
	// ImportanceRatio r gives I_i = r^i; Importance, when set, is a custom list.
	ImportanceRatio float64   `json:"importance_ratio" mapstructure:"importance_ratio"`
	Importance      []float64 `json:"importance,omitempty" mapstructure:"importance"`
	Densities       []float64 `json:"densities" mapstructure:"densities"`
	Seeds           int       `json:"seeds" mapstructure:"seeds"`
	BaseSeed        uint64    `json:"base_seed" mapstructure:"base_seed"`
	Snapshots       int       `json:"snapshots" mapstructure:"snapshots"`
	Threads         int       `json:"threads" mapstructure:"threads"`
	// Correlated and Anticorrelated feature sets (experiment "correlated").
	Correlated     [][]int `json:"correlated,omitempty" mapstructure:"correlated"`
	Anticorrelated [][]int `json:"anticorrelated,omitempty" mapstructure:"anticorrelated"`
	// Phase diagrams (experiment "phase"): relative importances of the
	// extra feature; densities come from Densities.
	PhaseImportances []float64 `json:"phase_importances,omitempty" mapstructure:"phase_importances"`
	// Sparse autoencoders (experiment "sae").
	SAEL1        []float64 `json:"sae_l1,omitempty" mapstructure:"sae_l1"`
	SAEDictSizes []int     `json:"sae_dict_sizes,omitempty" mapstructure:"sae_dict_sizes"`
	SAESteps     int       `json:"sae_steps,omitempty" mapstructure:"sae_steps"`
	SAEBatch     int       `json:"sae_batch,omitempty" mapstructure:"sae_batch"`
	SAELR        float64   `json:"sae_lr,omitempty" mapstructure:"sae_lr"`
	SAERows      int       `json:"sae_rows,omitempty" mapstructure:"sae_rows"`
}

// Experiments lists the ready experiments, each with a config in
// configs/<name>.yaml.
var Experiments = map[string]string{
	"linear":         "linear model, n=20 -> m=5, importance 0.7^i: keeps the m most important features orthogonal at every sparsity",
	"relu":           "ReLU output model, n=20 -> m=5, importance 0.7^i: superposition appears as sparsity grows",
	"pentagon":       "5 features in 2 dimensions across densities: orthogonal -> antipodal pairs -> pentagon (best of 10 seeds)",
	"dimensionality": "D* and D_i against 1/(1-S), 200 features in 20 dimensions of equal importance",
	"phase":          "phase diagrams of an extra feature's importance x density, 2 -> 1 and 3 -> 2",
	"neurons":        "ReLU hidden layer (privileged basis): neuron monosemanticity as density falls",
	"correlated":     "correlated, anticorrelated and independent feature pairs, 4 -> 2",
	"absolute":       "absolute-value computation in superposition, ReLU hidden layer with untied weights",
	"sae":            "sparse autoencoders on a toy model's hidden activations: L0, FVE, dead features, MMCS",
}

// ExperimentNames returns the experiment names, sorted.
func ExperimentNames() []string {
	var out []string
	for k := range Experiments {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ConfigYAML returns the ready config of an experiment.
func ConfigYAML(name string) ([]byte, error) {
	if _, ok := Experiments[name]; !ok {
		return nil, fmt.Errorf("unknown experiment %q (want one of %s)", name, strings.Join(ExperimentNames(), ", "))
	}
	b, err := configFS.ReadFile("configs/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("config of experiment %s: %w", name, err)
	}
	return b, nil
}

// ExperimentResult is what `mechinterp superposition <experiment>` writes
// to results.json. Exactly one of the experiment-specific fields is set.
type ExperimentResult struct {
	Experiment  string           `json:"experiment"`
	Description string           `json:"description"`
	Config      ExperimentConfig `json:"config"`
	// Instances: linear, relu, neurons, correlated, absolute (one per
	// density or feature-set variant).
	Instances []Analysis `json:"instances,omitempty"`
	// Sweep: pentagon, dimensionality.
	Sweep *SweepResult `json:"sweep,omitempty"`
	// Phases: phase (2 -> 1, then 3 -> 2).
	Phases []*PhaseResult `json:"phases,omitempty"`
	// SAE: sae.
	SAE *SAEExperiment `json:"sae,omitempty"`
	// SetCosines (correlated): per instance, the mean cosine between the
	// members of each feature set.
	SetCosines [][]float64 `json:"set_cosines,omitempty"`
}

func (c *ExperimentConfig) train() Config {
	cfg := Config{Kind: c.Model, Features: c.Features, Hidden: c.Hidden, Steps: c.Steps, Batch: c.Batch,
		LR: c.LR, WeightDecay: c.WeightDecay, Threads: c.Threads}
	cfg.Snapshots = []int{}
	if c.Snapshots > 0 {
		cfg.Snapshots = LogSpacedSteps(max(c.Steps, 1), c.Snapshots)
		if c.Steps == 0 {
			cfg.Snapshots = LogSpacedSteps(10000, c.Snapshots)
		}
	}
	return cfg
}

func (c *ExperimentConfig) importance() ([]float64, error) {
	if len(c.Importance) > 0 {
		if len(c.Importance) != c.Features {
			return nil, fmt.Errorf("importance has %d values for %d features", len(c.Importance), c.Features)
		}
		return c.Importance, nil
	}
	r := c.ImportanceRatio
	if r == 0 {
		r = 1
	}
	return GeometricImportance(c.Features, r), nil
}

// MaxSteps bounds ExperimentConfig.Steps and SAESteps.
const MaxSteps = 1 << 30

// checkSize refuses counts that are not positive or too large, and an
// experiment whose instances (every seed at every density and phase-diagram
// importance, each with its weights, AdamW's moments and a batch) are
// estimated to need more memory than the machine has, before any is built.
func (c ExperimentConfig) checkSize() error {
	switch {
	case c.Seeds < 1:
		return fmt.Errorf("seeds must be positive, got %d", c.Seeds)
	case c.Steps < 1 || c.Steps > MaxSteps:
		return fmt.Errorf("steps must be in [1, %d], got %d", MaxSteps, c.Steps)
	case c.SAESteps < 0 || c.SAESteps > MaxSteps:
		return fmt.Errorf("sae_steps must be in [0, %d], got %d", MaxSteps, c.SAESteps)
	case c.Features < 0 || c.Hidden < 0 || c.Batch < 0:
		return fmt.Errorf("features, hidden and batch must not be negative, got %d, %d and %d", c.Features, c.Hidden, c.Batch)
	}
	instances := float64(c.Seeds) * float64(len(c.Densities)) * float64(max(1, len(c.PhaseImportances)))
	F, H, B := float64(max(c.Features, 2)), float64(max(c.Hidden, 2)), float64(max(c.Batch, 1))
	perInstance := 4 * (6*F*H + 4*B*(2*F+H) + float64(max(c.Snapshots, 0))*F*H)
	if err := memory.Check(instances * perInstance); err != nil {
		return fmt.Errorf("%d seeds × %d densities of %d features × %d hidden %w", c.Seeds, len(c.Densities), c.Features, c.Hidden, err)
	}
	return nil
}

// RunExperiment runs the named experiment with cfg (normally its ready
// config, possibly overridden) and returns its result.
func RunExperiment(ctx context.Context, name string, cfg ExperimentConfig, progress Progress) (*ExperimentResult, error) {
	desc, ok := Experiments[name]
	if !ok {
		return nil, fmt.Errorf("unknown experiment %q (want one of %s)", name, strings.Join(ExperimentNames(), ", "))
	}
	if cfg.Model != "" && !cfg.Model.Valid() {
		return nil, fmt.Errorf("experiment %s: unknown model %q", name, cfg.Model)
	}
	if len(cfg.Densities) == 0 {
		return nil, fmt.Errorf("experiment %s: densities must not be empty", name)
	}
	for _, p := range cfg.Densities {
		if !(p > 0 && p <= 1) {
			return nil, fmt.Errorf("experiment %s: density %v outside (0,1]", name, p)
		}
	}
	if err := cfg.checkSize(); err != nil {
		return nil, fmt.Errorf("experiment %s: %w", name, err)
	}
	out := &ExperimentResult{Experiment: name, Description: desc, Config: cfg}
	imp, err := cfg.importance()
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", name, err)
	}
	tc := cfg.train()
	switch name {
	case "linear", "relu", "neurons", "absolute":
		out.Instances, err = runPerDensity(ctx, tc, imp, cfg, progress)
	case "pentagon", "dimensionality":
		out.Sweep, err = SparsitySweep(ctx, tc, imp, cfg.Densities, cfg.Seeds, cfg.BaseSeed, progress)
	case "phase":
		for _, shape := range [][2]int{{2, 1}, {3, 2}} {
			var pr *PhaseResult
			pr, err = PhaseDiagram(ctx, PhaseConfig{Features: shape[0], Hidden: shape[1], Importances: cfg.PhaseImportances,
				Densities: cfg.Densities, Seeds: cfg.Seeds, Base: cfg.BaseSeed, Train: tc}, progress)
			if err != nil {
				break
			}
			out.Phases = append(out.Phases, pr)
		}
	case "correlated":
		out.Instances, out.SetCosines, err = runCorrelated(ctx, tc, imp, cfg, progress)
	case "sae":
		out.SAE, err = runSAE(ctx, tc, imp, cfg, progress)
	}
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", name, err)
	}
	return out, nil
}

func runPerDensity(ctx context.Context, tc Config, imp []float64, cfg ExperimentConfig, progress Progress) ([]Analysis, error) {
	seeds := max(cfg.Seeds, 1)
	var ins []Instance
	for j, p := range cfg.Densities {
		for k := 0; k < seeds; k++ {
			ins = append(ins, Instance{Label: fmt.Sprintf("1-S=%.4g", p), Data: Distribution{Density: UniformDensity(cfg.Features, p)},
				Importance: imp, Seed: cfg.BaseSeed + uint64(j*seeds+k)})
		}
	}
	res, err := Train(ctx, tc, ins, progress)
	if err != nil {
		return nil, err
	}
	var out []Analysis
	for _, ir := range BestOfSeeds(res.Instances, seeds) {
		out = append(out, Analyze(res.Config.Kind, ir))
	}
	return out, nil
}

func runCorrelated(ctx context.Context, tc Config, imp []float64, cfg ExperimentConfig, progress Progress) ([]Analysis, [][]float64, error) {
	seeds := max(cfg.Seeds, 1)
	p := cfg.Densities[0]
	variants := []struct {
		label      string
		corr, anti [][]int
	}{
		{"correlated sets", cfg.Correlated, nil},
		{"anticorrelated sets", nil, cfg.Anticorrelated},
		{"independent", nil, nil},
	}
	var ins []Instance
	for j, v := range variants {
		for k := 0; k < seeds; k++ {
			ins = append(ins, Instance{Label: v.label, Importance: imp, Seed: cfg.BaseSeed + uint64(j*seeds+k),
				Data: Distribution{Density: UniformDensity(cfg.Features, p), Correlated: v.corr, Anticorrelated: v.anti}})
		}
	}
	res, err := Train(ctx, tc, ins, progress)
	if err != nil {
		return nil, nil, err
	}
	var out []Analysis
	var cos [][]float64
	sets := cfg.Correlated
	if len(sets) == 0 {
		sets = cfg.Anticorrelated
	}
	for _, ir := range BestOfSeeds(res.Instances, seeds) {
		a := Analyze(res.Config.Kind, ir)
		var cs []float64
		for _, set := range sets {
			cs = append(cs, meanSetCosine(a.W, set))
		}
		out = append(out, a)
		cos = append(cos, cs)
	}
	return out, cos, nil
}

// meanSetCosine is the mean cosine between pairs of a set's features.
func meanSetCosine(W [][]float64, set []int) float64 {
	norms := FeatureNorms(W)
	var s float64
	var c int
	for a, i := range set {
		for _, j := range set[a+1:] {
			if norms[i] > 0 && norms[j] > 0 {
				s += tensor.Dot64(W[i], W[j]) / (norms[i] * norms[j])
				c++
			}
		}
	}
	if c == 0 {
		return 0
	}
	return s / float64(c)
}
