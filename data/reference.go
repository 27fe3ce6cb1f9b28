package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// KindReference is the [Config] kind of the [Reference] source.
const KindReference = "reference"

// ReferenceConfig configures a [Reference] source. The zero value is the
// recipe of docs/induction-heads.md (vocabulary 128, spans of 10-29 tokens).
type ReferenceConfig struct {
	// Vocab is the number of token ids; every id is a regular token (there
	// is no BOS). Default 128.
	Vocab int `json:"vocab" mapstructure:"vocab" yaml:"vocab"`
	// MinSpan and MaxSpan bound the span length n, uniform in
	// [MinSpan, MaxSpan] (defaults 10 and 29).
	MinSpan int `json:"min_span" mapstructure:"min_span" yaml:"min_span"`
	MaxSpan int `json:"max_span" mapstructure:"max_span" yaml:"max_span"`
	// LanguageSeed draws the Markov chain's offsets (default 0). Sources
	// with different stream seeds and the same LanguageSeed share the chain,
	// so a held-out stream speaks the training stream's language.
	LanguageSeed uint64 `json:"language_seed" mapstructure:"language_seed" yaml:"language_seed"`
}

// WithDefaults fills the fields left at zero.
func (c ReferenceConfig) WithDefaults() ReferenceConfig {
	if c.Vocab == 0 {
		c.Vocab = 128
	}
	if c.MinSpan == 0 {
		c.MinSpan = 10
	}
	if c.MaxSpan == 0 {
		c.MaxSpan = max(29, c.MinSpan)
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c ReferenceConfig) Validate() error {
	switch {
	case c.Vocab < 2:
		return fmt.Errorf("data: reference: vocab must be at least 2, got %d", c.Vocab)
	case c.MinSpan < 1 || c.MaxSpan < c.MinSpan:
		return fmt.Errorf("data: reference: span lengths [min_span, max_span] = [%d, %d] must satisfy 1 <= min_span <= max_span", c.MinSpan, c.MaxSpan)
	}
	return nil
}

// MinRow is the shortest row (T+1 tokens) that holds a span of MaxSpan
// tokens and its source with a free position: 2*MaxSpan + 1.
func (c ReferenceConfig) MinRow() int { return 2*c.MaxSpan + 1 }

// Reference is a [Source] of the reference induction recipe measured with a
// plain PyTorch model (docs/induction-heads.md; scripts/induction_reference.py
// generates the same distribution): sequences without BOS, every other one
// (the even indices) uniform random tokens and the others a Markov chain,
// each carrying one repeated span. Olsson et al. 2022 (In-context Learning
// and Induction Heads) trained on such in-context repeats; this is the
// distribution on which that model formed induction heads at a loss bump.
//
// The chain: p(rank i) ∝ 1/i over all Vocab tokens, and token a's row of the
// transition matrix is that vector rolled by a's own uniform random offset
// o_a (drawn once from LanguageSeed): P(b | a) = p((b − o_a) mod Vocab).
// The first token of a chain sequence is uniform.
//
// The span, on a row of L = T+1 tokens: n ~ U{MinSpan..MaxSpan},
// s ~ U{0..L−2n−1}, d ~ U{s+n..L−n}, then row[d:d+n] = row[s:s+n]. The copy
// overwrites what was there; the chain is not continued from it. Unlike
// [Synthetic], source and copy are not uniform over the layouts: s is
// uniform first and d uniform after it, so short distances are more common.
//
// With half the sequences uniform (the exact half of any even batch), the
// batches have the recipe's composition; which rows of a batch are uniform
// does not matter to a model, whose rows are independent.
type Reference struct {
	cfg     ReferenceConfig
	offsets []int     // o_a
	cum     []float64 // cumulative p(rank i), i = 1..Vocab
	stream
}

var _ Indexed = (*Reference)(nil)

// NewReference returns the reference source of cfg (defaults filled in) with
// stream seed seed.
func NewReference(cfg ReferenceConfig, seed uint64) (*Reference, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := newStream(KindReference, seed, cfg)
	if err != nil {
		return nil, err
	}
	r := &Reference{cfg: cfg, stream: st, offsets: make([]int, cfg.Vocab)}
	rng := rand.New(rand.NewPCG(splitmix(cfg.LanguageSeed), splitmix(cfg.LanguageSeed^0x7ef)))
	for a := range r.offsets {
		r.offsets[a] = rng.IntN(cfg.Vocab)
	}
	w := make([]float64, cfg.Vocab)
	for i := range w {
		w[i] = 1 / float64(i+1)
	}
	r.cum = cumulative(w)
	return r, nil
}

// Config returns the configuration, defaults filled in.
func (r *Reference) Config() ReferenceConfig { return r.cfg }

// Vocab returns the number of token ids.
func (r *Reference) Vocab() int { return r.cfg.Vocab }

// Transition returns P(b | a), the chain's probability of token b after a.
func (r *Reference) Transition(a, b int) float64 {
	i := ((b-r.offsets[a])%r.cfg.Vocab + r.cfg.Vocab) % r.cfg.Vocab
	lo := 0.0
	if i > 0 {
		lo = r.cum[i-1]
	}
	return r.cum[i] - lo
}

// Entropy returns the entropy in nats of a chain step (the same for every
// token, each row being a rotation of one vector): the loss floor of the
// chain sequences outside the span.
func (r *Reference) Entropy() float64 {
	h := 0.0
	for b := range r.cfg.Vocab {
		if p := r.Transition(0, b); p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}

// Next fills b with the next b.B sequences; rows must hold at least
// Config().MinRow() tokens.
func (r *Reference) Next(b *Batch) error { return r.fill(b, r.Sequence) }

// State returns the index of the next sequence, with the seed and a
// fingerprint of the configuration.
func (r *Reference) State() ([]byte, error) { return r.state() }

// Restore sets the position from a State.
func (r *Reference) Restore(state []byte) error { return r.restore(state) }

// Sequence writes sequence i into row and returns its one span. Even i are
// uniform random tokens, odd i follow the chain.
func (r *Reference) Sequence(i uint64, row []int) ([]Span, error) {
	L := len(row)
	if L < r.cfg.MinRow() {
		return nil, fmt.Errorf("data: reference: rows of %d tokens are too short for a span of up to %d tokens and its source (need at least %d)", L, r.cfg.MaxSpan, r.cfg.MinRow())
	}
	rng := rngFor(r.seed, i)
	V := r.cfg.Vocab
	row[0] = rng.IntN(V)
	chain := i%2 == 1
	for p := 1; p < L; p++ {
		if chain {
			row[p] = (r.offsets[row[p-1]] + sample(rng, r.cum)) % V
		} else {
			row[p] = rng.IntN(V)
		}
	}
	n := r.cfg.MinSpan + rng.IntN(r.cfg.MaxSpan-r.cfg.MinSpan+1)
	s := rng.IntN(L - 2*n)
	d := s + n + rng.IntN(L-n-(s+n)+1)
	copy(row[d:d+n], row[s:s+n])
	return []Span{{Src: s, Dst: d, Len: n}}, nil
}

// EvalRepeated returns the [RepeatedConfig] of induction evaluations of a
// model trained on this source: r + r without BOS, |r| = n, r uniform over
// the vocabulary (the chain's unigram distribution is close to uniform, so no
// token is much commoner or rarer than another).
func (c ReferenceConfig) EvalRepeated(n, repeats int) RepeatedConfig {
	c = c.WithDefaults()
	return RepeatedConfig{Vocab: c.Vocab, Len: n, Repeats: repeats, NoBOS: true}
}
