package lab

import (
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
)

// KLBestOfN is the KL divergence of best-of-n sampling from the policy it
// samples, KL(best-of-n ‖ policy) = log n − (n−1)/n, exact for a policy
// whose rewards never tie (Stiennon et al. 2020, appendix; used by Bai et
// al. 2022 and Gao et al. 2022).
func KLBestOfN(n int) float64 {
	return math.Log(float64(n)) - float64(n-1)/float64(n)
}

// CategoricalBestOfN is the distribution of best-of-n sampling from a
// categorical policy p whose outcomes have the distinct rewards r: outcome
// i wins with probability F(r_i)^n − F(r_i⁻)^n, F the policy's cumulative
// distribution of reward.
func CategoricalBestOfN(p, r []float64, n int) []float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return r[idx[a]] < r[idx[b]] })
	q := make([]float64, len(p))
	F := 0.0
	for _, i := range idx {
		lo := math.Pow(F, float64(n))
		F += p[i]
		q[i] = math.Pow(F, float64(n)) - lo
	}
	return q
}

// KL is Σ q log(q/p) over the outcomes with q > 0.
func KL(q, p []float64) float64 {
	s := 0.0
	for i := range q {
		if q[i] > 0 {
			s += q[i] * math.Log(q[i]/p[i])
		}
	}
	return s
}

// BestOfNConfig configures a best-of-n experiment on the synthetic task:
// each prompt is BOS and the first half of a held-out sequence; the policy
// continues it Samples times, and best-of-n keeps the continuation the
// preference model scores highest.
type BestOfNConfig struct {
	// Task is the synthetic task whose prompts and true reward are used.
	Task SyntheticConfig `json:"task"`
	// Prompts (default 32) and Samples per prompt (default 256, the
	// largest n).
	Prompts int `json:"prompts"`
	Samples int `json:"samples"`
	// Temperature, TopK and TopP of the policy's sampling (defaults 1, all,
	// all), seeded by Seed.
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`
	Seed        uint64  `json:"seed"`
}

// BestOfNPoint is best-of-n at one n: its KL from the policy and the
// expected rewards of the sample it keeps.
type BestOfNPoint struct {
	N      int     `json:"n"`
	KL     float64 `json:"kl"`
	SqrtKL float64 `json:"sqrt_kl"`
	// Proxy is the preference model's reward of the kept sample; True its
	// true reward (synthetic task). Means over prompts, each the exact
	// expectation over n-subsets of the prompt's Samples continuations.
	Proxy float64 `json:"proxy_reward"`
	True  float64 `json:"true_reward"`
	// OracleTrue is best-of-n by the true reward itself: what a perfect
	// preference model would reach at the same KL.
	OracleTrue float64 `json:"oracle_true_reward"`
}

// BestOfNResult is a best-of-n experiment.
type BestOfNResult struct {
	Config BestOfNConfig  `json:"config"`
	Points []BestOfNPoint `json:"points"`
	Policy string         `json:"policy,omitempty"`
	PM     string         `json:"preference_model,omitempty"`
}

// MarshalJSON writes NaN as null.
func (r BestOfNResult) MarshalJSON() ([]byte, error) {
	type plain BestOfNResult
	return jsonx.Marshal(plain(r))
}

// WithDefaults fills the fields left at zero.
func (c BestOfNConfig) WithDefaults() BestOfNConfig {
	c.Task = c.Task.WithDefaults()
	if c.Prompts == 0 {
		c.Prompts = 32
	}
	if c.Samples == 0 {
		c.Samples = 256
	}
	return c
}

// BestOfN samples continuations of the task's held-out prompts from policy,
// scores them with pm and with the true reward, and returns best-of-n's
// rewards against sqrt(KL) for n = 1, 2, 4, ... up to Samples.
func BestOfN(policy *models.Model, pm *PrefModel, cfg BestOfNConfig) (*BestOfNResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Task.Validate(); err != nil {
		return nil, err
	}
	if cfg.Prompts < 1 || cfg.Samples < 1 {
		return nil, fmt.Errorf("lab: best-of-n needs prompts and samples ≥ 1, got %d and %d", cfg.Prompts, cfg.Samples)
	}
	// Every sample of every prompt is kept to be scored.
	if err := memory.Check(float64(cfg.Prompts) * float64(cfg.Samples) * float64(cfg.Task.SeqLen()*8+64)); err != nil {
		return nil, fmt.Errorf("lab: best-of-n over %d prompts × %d samples %w", cfg.Prompts, cfg.Samples, err)
	}
	if policy.Config.DVocab < cfg.Task.Vocab || pm.Model.Config.DVocab < cfg.Task.Vocab {
		return nil, fmt.Errorf("lab: the synthetic task's %d tokens do not fit the policy's (%d) or preference model's (%d) vocabulary",
			cfg.Task.Vocab, policy.Config.DVocab, pm.Model.Config.DVocab)
	}
	var ns []int
	for n := 1; n <= cfg.Samples; n *= 2 {
		ns = append(ns, n)
	}
	res := &BestOfNResult{Config: cfg, Points: make([]BestOfNPoint, len(ns))}
	for k, n := range ns {
		res.Points[k] = BestOfNPoint{N: n, KL: KLBestOfN(n), SqrtKL: math.Sqrt(KLBestOfN(n))}
	}
	h := cfg.Task.Len / 2
	opt := models.SampleOptions{Temperature: cfg.Temperature, TopK: cfg.TopK, TopP: cfg.TopP}
	for p := 0; p < cfg.Prompts; p++ {
		prompt := cfg.Task.Sequence(SetEval, uint64(p))[:1+h]
		rows := make([][]int, cfg.Samples)
		for i := range rows {
			rows[i] = prompt
		}
		opt.Seed = seed.Derive(cfg.Seed, uint64(p), "lab/bestofn/prompt")
		seqs, err := models.Generate(policy, rows, cfg.Task.Len-h, opt)
		if err != nil {
			return nil, err
		}
		proxy, err := pm.Rewards(seqs, 256, nil)
		if err != nil {
			return nil, err
		}
		truth := make([]float64, len(seqs))
		for i, s := range seqs {
			truth[i] = cfg.Task.TrueReward(s)
		}
		for k, n := range ns {
			pt := &res.Points[k]
			pt.Proxy += expectedBest(proxy, proxy, n) / float64(cfg.Prompts)
			pt.True += expectedBest(proxy, truth, n) / float64(cfg.Prompts)
			pt.OracleTrue += expectedBest(truth, truth, n) / float64(cfg.Prompts)
		}
	}
	return res, nil
}

// expectedBest is the expected value of y at the sample with the largest
// key among n drawn without replacement from the pool: with the pool sorted
// by key, the i-th smallest (1-based) is the best of a random n-subset with
// probability C(i−1, n−1)/C(N, n). Ties in key are broken by averaging y
// over the tied samples.
func expectedBest(key, y []float64, n int) float64 {
	N := len(key)
	idx := make([]int, N)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return key[idx[a]] < key[idx[b]] })
	ys := make([]float64, N)
	for i := 0; i < N; {
		j, s := i, 0.0
		for ; j < N && key[idx[j]] == key[idx[i]]; j++ {
			s += y[idx[j]]
		}
		for k := i; k < j; k++ {
			ys[k] = s / float64(j-i)
		}
		i = j
	}
	lc := func(a, b int) float64 { // log C(a, b)
		x, _ := math.Lgamma(float64(a + 1))
		u, _ := math.Lgamma(float64(b + 1))
		v, _ := math.Lgamma(float64(a - b + 1))
		return x - u - v
	}
	total := lc(N, n)
	e := 0.0
	for i := n; i <= N; i++ { // 1-based rank i needs i−1 ≥ n−1
		e += math.Exp(lc(i-1, n-1)-total) * ys[i-1]
	}
	return e
}

// RunBestOfN loads a policy checkpoint and a preference model (a directory
// written by PrefModel.Save) and runs BestOfN.
func RunBestOfN(policyDir, pmDir string, cfg BestOfNConfig) (*BestOfNResult, error) {
	policy, err := models.Load(policyDir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	pm, err := LoadPrefModel(pmDir)
	if err != nil {
		return nil, fmt.Errorf("preference model: %w", err)
	}
	res, err := BestOfN(policy, pm, cfg)
	if err != nil {
		return nil, err
	}
	res.Policy, res.PM = policyDir, pmDir
	return res, nil
}
