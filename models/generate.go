package models

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
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
	// Rows are drawn in parallel parts, each with its own scratch, when
	// a step's draws are worth a handoff (8 rows of a 2048-token
	// vocabulary: some 40 µs, a twentieth of a step on one core).
	parts := 1
	if B*V >= 1<<14 {
		parts = min(B, runtime.GOMAXPROCS(0))
	}
	probs := make([]float64, parts*V)
	idx := make([]int, parts*V)
	drawn := make([]int, B)
	kv := m.NewKVCache(B)
	tokens := make([]int, 0, B*T0)
	for _, p := range prompts {
		tokens = append(tokens, p...)
	}
	for step := 0; step < n; step++ {
		T := len(tokens) / B // the prompts, then one new token per row
		if step == 1 {
			// After the prompt: its products are large enough for
			// tensor.Gemm's own goroutines, which a spinning worker would
			// keep off its core.
			defer startTeam()()
		}
		pass, err := m.Forward(tokens, B, T, nil, &Options{Hook: opt.Hook, NoGrad: true, KV: kv, lastLogits: true})
		if err != nil {
			return nil, err
		}
		parallelFor(parts, 1, func(lo, hi int) {
			for part := lo; part < hi; part++ {
				pr, ix := probs[part*V:(part+1)*V], idx[part*V:(part+1)*V]
				for b := part * B / parts; b < (part+1)*B/parts; b++ {
					if !done[b] {
						drawn[b] = SampleLogits(pass.Logits.Data[b*V:(b+1)*V], opt, &rngs[b], pr, ix)
					}
				}
			}
		})
		for b := range out {
			if done[b] {
				out[b] = append(out[b], opt.Stop)
				continue
			}
			out[b] = append(out[b], drawn[b])
			done[b] = opt.UseStop && drawn[b] == opt.Stop
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
//
// Without truncation the draw walks the tokens in id order, which needs no
// sort (sorting the vocabulary for every token was a third of generating);
// with top-k or top-p it walks the kept tokens most likely first (ties by
// id), so which tokens are kept, and the draw, are fixed by r alone.
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
	temp := float32(1)
	if opt.Temperature > 0 {
		temp = float32(opt.Temperature)
	}
	expWeights(probs[:V], logits, temp)
	keep := V
	if opt.TopK > 0 && opt.TopK < keep {
		keep = opt.TopK
	}
	truncP := opt.TopP > 0 && opt.TopP < 1
	if keep == V && !truncP {
		return drawInOrder(probs[:V], r.Float64())
	}
	kept := mostLikely(idx, probs[:V], keep)
	total := 0.0
	for _, i := range kept {
		total += probs[i]
	}
	if truncP {
		cum := 0.0
		for k, i := range kept {
			cum += probs[i]
			if cum >= opt.TopP*total {
				kept = kept[:k+1]
				break
			}
		}
		total = 0
		for _, i := range kept {
			total += probs[i]
		}
	}
	u := r.Float64() * total
	for _, i := range kept {
		u -= probs[i]
		if u < 0 {
			return i
		}
	}
	return kept[len(kept)-1]
}

// drawInOrder returns the first token i at which the weights w, summed in
// id order, pass u·Σw; when rounding leaves no such token, the last token
// with any weight. Whole blocks of 64 whose sum u does not reach are
// skipped at once: the sums run on four accumulators, where one running
// difference per token was a chain of dependent additions, a third of a
// draw from 2048 tokens.
func drawInOrder(w []float64, u float64) int {
	const blk = 64
	u *= sum4(w)
	last := -1 // the last block with any weight
	for lo := 0; lo < len(w); lo += blk {
		b := w[lo:min(lo+blk, len(w))]
		s := sum4(b)
		if s > 0 {
			last = lo
		}
		if u >= s {
			u -= s
			continue
		}
		for i, p := range b {
			u -= p
			if u < 0 {
				return lo + i
			}
		}
		for i := len(b) - 1; i >= 0; i-- { // rounding within the block
			if b[i] > 0 {
				return lo + i
			}
		}
	}
	if last < 0 {
		return 0
	}
	b := w[last:min(last+blk, len(w))]
	for i := len(b) - 1; i > 0; i-- {
		if b[i] > 0 {
			return last + i
		}
	}
	return last
}

// sum4 is Σx on four accumulators.
func sum4(x []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+3 < len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// expWeights sets w[i] = e^((logits[i] − max)/temp), the unnormalised
// probabilities, through the vector exponential in blocks on the stack.
// The maximum runs on four accumulators with plain comparisons (the
// builtin max's NaN and signed-zero rules cost a chain of several
// instructions per token); at temperature 1 the exponential subtracts it
// itself.
func expWeights(w []float64, logits []float32, temp float32) {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+3 < len(logits); i += 4 {
		x := (*[4]float32)(logits[i : i+4])
		if x[0] > m0 {
			m0 = x[0]
		}
		if x[1] > m1 {
			m1 = x[1]
		}
		if x[2] > m2 {
			m2 = x[2]
		}
		if x[3] > m3 {
			m3 = x[3]
		}
	}
	for ; i < len(logits); i++ {
		if logits[i] > m0 {
			m0 = logits[i]
		}
	}
	mx := max(m0, m1, m2, m3)
	var buf [512]float32
	for lo := 0; lo < len(logits); lo += len(buf) {
		x := logits[lo:min(lo+len(buf), len(logits))]
		b := buf[:len(x)]
		if temp == 1 {
			tensor.ExpShifted(b, x, mx)
		} else {
			for i, v := range x {
				b[i] = (v - mx) / temp
			}
			tensor.ExpShifted(b, b, 0)
		}
		out := w[lo : lo+len(b)]
		for i, e := range b {
			out[i] = float64(e)
		}
	}
}

// ranksBefore orders tokens most likely first, ties by id.
func ranksBefore(probs []float64, a, b int) bool {
	return probs[a] > probs[b] || (probs[a] == probs[b] && a < b)
}

// mostLikely returns idx[:k] holding the k most likely tokens in rank order
// (ranksBefore): a heap of the k best seen so far, worst at its root, then a
// sort of those k, so top-k costs V·log k instead of a sort of V.
func mostLikely(idx []int, probs []float64, k int) []int {
	byRank := func(a, b int) int {
		if ranksBefore(probs, a, b) {
			return -1
		}
		if ranksBefore(probs, b, a) {
			return 1
		}
		return 0
	}
	if k >= len(probs) {
		for i := range probs {
			idx[i] = i
		}
		slices.SortFunc(idx[:len(probs)], byRank)
		return idx[:len(probs)]
	}
	h := idx[:0]
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && ranksBefore(probs, h[c], h[c+1]) {
				c++ // the worse child
			}
			if !ranksBefore(probs, h[i], h[c]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for t := range probs {
		if len(h) < k {
			h = append(h, t)
			for i := len(h) - 1; i > 0; {
				parent := (i - 1) / 2
				if !ranksBefore(probs, h[parent], h[i]) {
					break
				}
				h[i], h[parent] = h[parent], h[i]
				i = parent
			}
			continue
		}
		if ranksBefore(probs, t, h[0]) {
			h[0] = t
			down(0)
		}
	}
	slices.SortFunc(h, byRank)
	return h
}
