package data

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// SyntheticConfig configures a [Synthetic] language. The defaults are the
// settings measured to form induction heads in a 2-layer model within a few
// thousand steps (vocab 128, context 64, one repeated span of 10-29 tokens,
// half the sequences uniform random tokens, half a Zipfian Markov chain).
type SyntheticConfig struct {
	// Vocab is the number of token ids, BOS included (default 128).
	Vocab int `json:"vocab" mapstructure:"vocab" yaml:"vocab"`
	// BOS is the id that starts every sequence (default 0). The other ids
	// are ranked by value: the smallest non-BOS id is the commonest token of
	// the Markov chain.
	BOS int `json:"bos" mapstructure:"bos" yaml:"bos"`
	// RandomFraction is the share of sequences whose background is uniform
	// random tokens; the others follow the Markov chain. Nil means 0.5.
	RandomFraction *float64 `json:"random_fraction,omitempty" mapstructure:"random_fraction" yaml:"random_fraction,omitempty"`
	// ZipfExponent s: the token of rank k has weight k^-s. Nil means 1; 0
	// makes every successor equally likely (and the unigram distribution
	// about uniform), so that tokens rarely recur within a sequence and
	// induction stays useful on chain sequences too.
	ZipfExponent *float64 `json:"zipf_exponent,omitempty" mapstructure:"zipf_exponent" yaml:"zipf_exponent,omitempty"`
	// Successors is the Markov chain's sparsity: each token can be followed
	// by this many distinct tokens (default 32).
	Successors int `json:"successors" mapstructure:"successors" yaml:"successors"`
	// MinSpan and MaxSpan bound the length of a repeated span, drawn
	// uniformly per span (defaults 10 and 29).
	MinSpan int `json:"min_span" mapstructure:"min_span" yaml:"min_span"`
	MaxSpan int `json:"max_span" mapstructure:"max_span" yaml:"max_span"`
	// Spans is the number of repeated spans per sequence (default 1).
	Spans int `json:"spans" mapstructure:"spans" yaml:"spans"`
	// LanguageSeed fixes the Markov chain's transition table. Sources with
	// different stream seeds and the same LanguageSeed speak the same
	// language (for example a training and a held-out stream).
	LanguageSeed uint64 `json:"language_seed" mapstructure:"language_seed" yaml:"language_seed"`
}

// Float returns a pointer to v, for [SyntheticConfig.RandomFraction].
func Float(v float64) *float64 { return &v }

// WithDefaults fills the fields left at zero with the defaults.
func (c SyntheticConfig) WithDefaults() SyntheticConfig {
	if c.Vocab == 0 {
		c.Vocab = 128
	}
	if c.RandomFraction == nil {
		c.RandomFraction = Float(0.5)
	}
	if c.ZipfExponent == nil {
		c.ZipfExponent = Float(1)
	}
	if c.Successors == 0 {
		c.Successors = min(32, c.Vocab-1)
	}
	if c.MinSpan == 0 {
		c.MinSpan = 10
	}
	if c.MaxSpan == 0 {
		c.MaxSpan = max(29, c.MinSpan)
	}
	if c.Spans == 0 {
		c.Spans = 1
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c SyntheticConfig) Validate() error {
	var errs []error
	if c.Vocab < 3 {
		errs = append(errs, fmt.Errorf("vocab must be at least 3, got %d", c.Vocab))
	}
	if c.BOS < 0 || c.BOS >= c.Vocab {
		errs = append(errs, fmt.Errorf("bos %d is outside the vocabulary [0, %d)", c.BOS, c.Vocab))
	}
	if f := c.RandomFraction; f == nil || !(*f >= 0 && *f <= 1) {
		errs = append(errs, errors.New("random_fraction must be in [0, 1]"))
	}
	if !(*c.ZipfExponent >= 0) || math.IsInf(*c.ZipfExponent, 0) {
		errs = append(errs, fmt.Errorf("zipf_exponent must be 0 or positive, got %g", *c.ZipfExponent))
	}
	if c.Successors < 1 || c.Successors > c.Vocab-1 {
		errs = append(errs, fmt.Errorf("successors must be in [1, vocab-1 = %d], got %d", c.Vocab-1, c.Successors))
	}
	if c.MinSpan < 1 || c.MaxSpan < c.MinSpan {
		errs = append(errs, fmt.Errorf("span lengths [min_span, max_span] = [%d, %d] must satisfy 1 <= min_span <= max_span", c.MinSpan, c.MaxSpan))
	}
	if c.Spans < 1 {
		errs = append(errs, fmt.Errorf("spans must be at least 1, got %d", c.Spans))
	}
	if len(errs) > 0 {
		return fmt.Errorf("data: synthetic: %w", errors.Join(errs...))
	}
	return nil
}

// MinT is the shortest context T that fits every span and its source:
// 2 * Spans * MaxSpan.
func (c SyntheticConfig) MinT() int { return 2 * c.Spans * c.MaxSpan }

// EvalRepeated returns a [RepeatedConfig] for induction evaluations of a
// model trained on this language: same vocabulary and BOS, r of length n
// repeated `repeats` times, drawn from the middle 80% of the token ranks
// (avoiding the commonest and rarest tokens, as Olsson et al. 2022 do).
func (c SyntheticConfig) EvalRepeated(n, repeats int) RepeatedConfig {
	c = c.WithDefaults()
	toks := nonBOS(c.Vocab, c.BOS)
	cut := len(toks) / 10
	lo, hi := toks[cut], toks[len(toks)-1-cut]+1
	var exclude []int
	if c.BOS >= lo && c.BOS < hi {
		exclude = []int{c.BOS}
	}
	return RepeatedConfig{Vocab: c.Vocab, Len: n, Repeats: repeats, BOS: c.BOS, MinToken: lo, MaxToken: hi, Exclude: exclude}
}

func nonBOS(vocab, bos int) []int {
	toks := make([]int, 0, vocab-1)
	for id := range vocab {
		if id != bos {
			toks = append(toks, id)
		}
	}
	return toks
}

// Synthetic is a [Source] of a synthetic language with in-context repeats,
// made so that small attention-only transformers form induction heads
// quickly (Olsson et al. 2022, In-context Learning and Induction Heads).
//
// Every sequence starts with BOS. Its background is, with probability
// RandomFraction (default one half of the sequences), uniform random tokens
// (which only an induction head can predict, inside a repeat) and otherwise a
// Markov chain with Zipfian statistics (which rewards bigram statistics, like
// natural text). The mix is per sequence, so each sequence is internally
// consistent and a model can tell the two kinds apart from context.
//
// The Markov chain: non-BOS tokens are ranked by id; each token has
// Successors possible next tokens, drawn uniformly without replacement from
// the LanguageSeed, with probabilities proportional to their Zipf weights
// rank^-ZipfExponent, so unigram frequencies come out close to Zipfian. The
// first token after BOS is drawn from the chain's stationary distribution
// ([Synthetic.Unigram]).
//
// Every sequence carries Spans repeated spans, each of MinSpan-MaxSpan
// tokens (uniform), copying an earlier stretch of the same sequence. Lengths,
// source positions and distances vary per sequence (the source and copy
// positions are uniform among the non-overlapping layouts), so the model
// cannot learn a fixed-offset positional copy instead of induction. In
// Markov sequences the chain continues from the last copied token. The
// [Span]s of each row are returned in [Batch.Spans].
type Synthetic struct {
	cfg  SyntheticConfig
	toks []int // non-BOS ids in rank order
	// unigram is the cumulative stationary distribution over ranks.
	unigram []float64
	// succ[a] are the successors of the token of rank a (as ranks), with
	// cumulative probabilities cum[a].
	succ [][]int
	cum  [][]float64
	rank []int // rank of each id, -1 for BOS
	stream
}

var _ Indexed = (*Synthetic)(nil)

// NewSynthetic returns the synthetic language of cfg (defaults filled in)
// with stream seed seed.
func NewSynthetic(cfg SyntheticConfig, seed uint64) (*Synthetic, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := newStream("synthetic", seed, cfg)
	if err != nil {
		return nil, err
	}
	s := &Synthetic{cfg: cfg, toks: nonBOS(cfg.Vocab, cfg.BOS), stream: st}
	n := len(s.toks)
	s.rank = make([]int, cfg.Vocab)
	for i := range s.rank {
		s.rank[i] = -1
	}
	for r, id := range s.toks {
		s.rank[id] = r
	}
	w := make([]float64, n)
	for r := range w {
		w[r] = math.Pow(float64(r+1), -*cfg.ZipfExponent)
	}

	rng := rand.New(rand.NewPCG(splitmix(cfg.LanguageSeed), splitmix(cfg.LanguageSeed^0x5eed)))
	s.succ = make([][]int, n)
	s.cum = make([][]float64, n)
	perm := make([]int, n)
	for a := range n {
		for i := range perm {
			perm[i] = i
		}
		for k := range cfg.Successors {
			j := k + rng.IntN(n-k)
			perm[k], perm[j] = perm[j], perm[k]
		}
		succ := slices.Clone(perm[:cfg.Successors])
		slices.Sort(succ)
		sw := make([]float64, len(succ))
		for k, b := range succ {
			sw[k] = w[b]
		}
		s.succ[a], s.cum[a] = succ, cumulative(sw)
	}
	s.unigram = cumulative(s.stationary(w))
	return s, nil
}

// stationary returns the chain's stationary distribution over ranks, by
// power iteration from the Zipf weights w.
func (s *Synthetic) stationary(w []float64) []float64 {
	pi := slices.Clone(w)
	sum := 0.0
	for _, v := range pi {
		sum += v
	}
	for r := range pi {
		pi[r] /= sum
	}
	next := make([]float64, len(pi))
	for range 1000 {
		clear(next)
		for a, succ := range s.succ {
			prev := 0.0
			for k, b := range succ {
				next[b] += pi[a] * (s.cum[a][k] - prev)
				prev = s.cum[a][k]
			}
		}
		diff := 0.0
		for r := range pi {
			// Averaging with the previous iterate makes periodic chains converge.
			next[r] = (next[r] + pi[r]) / 2
			diff += math.Abs(next[r] - pi[r])
		}
		pi, next = next, pi
		if diff < 1e-12 {
			break
		}
	}
	return pi
}

// cumulative returns the normalized running sums of w.
func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	sum := 0.0
	for i, v := range w {
		sum += v
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	c[len(c)-1] = 1
	return c
}

func sample(rng *rand.Rand, cum []float64) int {
	i := sort.SearchFloat64s(cum, rng.Float64())
	return min(i, len(cum)-1)
}

// Config returns the language's configuration, defaults filled in.
func (s *Synthetic) Config() SyntheticConfig { return s.cfg }

// Vocab returns the configured vocabulary size.
func (s *Synthetic) Vocab() int { return s.cfg.Vocab }

// Next fills b with the next b.B sequences; b.T must be at least
// Config().MinT().
func (s *Synthetic) Next(b *Batch) error { return s.fill(b, s.Sequence) }

// State returns the index of the next sequence, with the seed and a
// fingerprint of the configuration.
func (s *Synthetic) State() ([]byte, error) { return s.state() }

// Restore sets the position from a State.
func (s *Synthetic) Restore(state []byte) error { return s.restore(state) }

// Unigram returns the Markov chain's stationary probability of each token id
// (0 for BOS): close to Zipfian, and the distribution of the first token
// after BOS, so that a Markov sequence is stationary from its start.
func (s *Synthetic) Unigram() []float64 {
	p := make([]float64, s.cfg.Vocab)
	prev := 0.0
	for r, c := range s.unigram {
		p[s.toks[r]] = c - prev
		prev = c
	}
	return p
}

// Sequence writes sequence i into row and returns its spans, ordered by
// Dst.
func (s *Synthetic) Sequence(i uint64, row []int) ([]Span, error) {
	T := len(row) - 1
	if T < s.cfg.MinT() {
		return nil, fmt.Errorf("data: synthetic: context %d is too short for %d span(s) of up to %d tokens and their sources (need at least %d)", T, s.cfg.Spans, s.cfg.MaxSpan, s.cfg.MinT())
	}
	rng := rngFor(s.seed, i)
	random := rng.Float64() < *s.cfg.RandomFraction
	spans := s.layout(rng, T)

	// src[p] is the position row[p] copies, or -1.
	src := make([]int, len(row))
	for p := range src {
		src[p] = -1
	}
	for _, sp := range spans {
		for j := range sp.Len {
			src[sp.Dst+j] = sp.Src + j
		}
	}
	row[0] = s.cfg.BOS
	n := len(s.toks)
	for p := 1; p < len(row); p++ {
		switch {
		case src[p] >= 0:
			row[p] = row[src[p]]
		case random:
			row[p] = s.toks[rng.IntN(n)]
		case p == 1:
			row[p] = s.toks[sample(rng, s.unigram)]
		default:
			a := s.rank[row[p-1]]
			row[p] = s.toks[s.succ[a][sample(rng, s.cum[a])]]
		}
	}
	return spans, nil
}

// layout places the spans in positions 1..T: lengths uniform in
// [MinSpan, MaxSpan], each source before its copy, nothing overlapping, and
// the free positions spread uniformly over the gaps.
func (s *Synthetic) layout(rng *rand.Rand, T int) []Span {
	k := s.cfg.Spans
	lens := make([]int, k)
	slack := T
	for j := range lens {
		lens[j] = s.cfg.MinSpan + rng.IntN(s.cfg.MaxSpan-s.cfg.MinSpan+1)
		slack -= 2 * lens[j]
	}
	// The order of the 2k blocks: each span id twice, shuffled; the first
	// occurrence is the source, the second the copy.
	order := make([]int, 2*k)
	for j := range order {
		order[j] = j / 2
	}
	rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	// Gaps: a uniform composition of slack into 2k+1 parts (stars and bars).
	m := slack + 2*k
	idx := make([]int, m)
	for j := range idx {
		idx[j] = j
	}
	for j := range 2 * k {
		r := j + rng.IntN(m-j)
		idx[j], idx[r] = idx[r], idx[j]
	}
	bars := idx[:2*k]
	slices.Sort(bars)

	spans := make([]Span, k)
	seen := make([]bool, k)
	pos, prevBar := 1, -1
	for j, id := range order {
		pos += bars[j] - prevBar - 1
		prevBar = bars[j]
		if !seen[id] {
			seen[id] = true
			spans[id].Src = pos
		} else {
			spans[id].Dst = pos
		}
		spans[id].Len = lens[id]
		pos += lens[id]
	}
	slices.SortFunc(spans, func(a, b Span) int { return a.Dst - b.Dst })
	return spans
}
