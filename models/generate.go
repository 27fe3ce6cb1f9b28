package models

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/internal/seed"
)

// SampleOptions control Generate's sampling. The zero value samples from the
// model's distribution at temperature 1 with no truncation.
type SampleOptions struct {
	// Temperature divides the logits; 0 means 1, and a negative value picks
	// the most likely token (greedy decoding).
	Temperature float64
	// TopK keeps only the K most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches P (nucleus sampling, Holtzman et al. 2020; 0 or 1: all).
	TopP float64
	// Seed fixes the draws: row b of a batch draws from the stream
	// seed.Derive(Seed, b, "models/generate"), so a row's sample does not
	// depend on the batch it runs in.
	Seed uint64
	// Hook fires at every hook point of every forward pass, generated
	// positions included.
	Hook HookFunc
	// With UseStop, a row ends once it samples Stop (the end-of-text id,
	// say) and is padded with Stop to the common length.
	UseStop bool
	Stop    int
}

// Generate continues each prompt (all of one length) by n sampled tokens
// and returns the prompts with their continuations. It runs the prompts
// once and then each new token alone against a key/value cache (KVCache),
// so hooks see the prompt's positions at the first step and one new
// position at each later step, as TransformerLens's generate does with
// its cache.
func Generate(m *Model, prompts [][]int, n int, opt SampleOptions) ([][]int, error) {
	if len(prompts) == 0 || n < 0 {
		return nil, fmt.Errorf("models: generate needs prompts and n ≥ 0, got %d prompts and n = %d", len(prompts), n)
	}
	T0 := len(prompts[0])
	if T0 == 0 {
		return nil, errors.New("models: generate needs a prompt of at least one token")
	}
	for i, p := range prompts {
		if len(p) != T0 {
			return nil, fmt.Errorf("models: prompt %d has %d tokens, prompt 0 has %d; generate needs prompts of one length", i, len(p), T0)
		}
	}
	if T0+n > m.Config.NCtx {
		return nil, fmt.Errorf("models: %d prompt and %d new tokens exceed the context n_ctx=%d", T0, n, m.Config.NCtx)
	}
	if opt.TopK < 0 || opt.TopP < 0 || opt.TopP > 1 || math.IsNaN(opt.Temperature) {
		return nil, fmt.Errorf("models: top-k %d must be ≥ 0, top-p %g in [0,1], temperature a number", opt.TopK, opt.TopP)
	}
	B, V := len(prompts), m.Config.DVocab
	if err := m.Config.CheckForward(B, T0+n); err != nil {
		return nil, fmt.Errorf("models: generating %d rows %w", B, err)
	}
	out := make([][]int, B)
	rngs := make([]seed.Rand, B)
	done := make([]bool, B)
	for b, p := range prompts {
		out[b] = append(make([]int, 0, T0+n), p...)
		rngs[b] = seed.New(seed.Derive(opt.Seed, uint64(b), "models/generate"))
	}
	probs := make([]float64, V)
	idx := make([]int, V)
	kv := m.NewKVCache(B)
	tokens := make([]int, 0, B*T0)
	for _, p := range prompts {
		tokens = append(tokens, p...)
	}
	for step := 0; step < n; step++ {
		T := len(tokens) / B // the prompts, then one new token per row
		pass, err := m.Forward(tokens, B, T, nil, &Options{Hook: opt.Hook, NoGrad: true, KV: kv})
		if err != nil {
			return nil, err
		}
		for b := range out {
			if done[b] {
				out[b] = append(out[b], opt.Stop)
				continue
			}
			logits := pass.Logits.Data[(b*T+T-1)*V : (b*T+T)*V]
			t := SampleLogits(logits, opt, &rngs[b], probs, idx)
			out[b] = append(out[b], t)
			done[b] = opt.UseStop && t == opt.Stop
		}
		pass.Release()
		tokens = tokens[:0]
		for _, row := range out {
			tokens = append(tokens, row[len(row)-1])
		}
	}
	return out, nil
}

// SampleLogits draws a token from one row of logits with opt's temperature,
// top-k and top-p, using r. probs and idx are scratch of the row's length
// (nil allocates).
func SampleLogits(logits []float32, opt SampleOptions, r *seed.Rand, probs []float64, idx []int) int {
	V := len(logits)
	if probs == nil {
		probs, idx = make([]float64, V), make([]int, V)
	}
	if opt.Temperature < 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	temp := opt.Temperature
	if temp == 0 {
		temp = 1
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	for i, v := range logits {
		probs[i] = math.Exp((float64(v) - mx) / temp)
		idx[i] = i
	}
	// Most likely first; ties by id, so the order (and the draw) is fixed.
	sort.Slice(idx, func(a, b int) bool {
		if probs[idx[a]] != probs[idx[b]] {
			return probs[idx[a]] > probs[idx[b]]
		}
		return idx[a] < idx[b]
	})
	keep := V
	if opt.TopK > 0 && opt.TopK < keep {
		keep = opt.TopK
	}
	total := 0.0
	for _, i := range idx[:keep] {
		total += probs[i]
	}
	if opt.TopP > 0 && opt.TopP < 1 {
		cum := 0.0
		for k, i := range idx[:keep] {
			cum += probs[i]
			if cum >= opt.TopP*total {
				keep = k + 1
				break
			}
		}
		total = 0
		for _, i := range idx[:keep] {
			total += probs[i]
		}
	}
	u := r.Float64() * total
	for _, i := range idx[:keep] {
		u -= probs[i]
		if u < 0 {
			return i
		}
	}
	return idx[keep-1]
}
