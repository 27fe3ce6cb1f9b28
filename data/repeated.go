package data

import (
	"errors"
	"fmt"
)

// RepeatedConfig configures a [Repeated] source: sequences [BOS] + r + r
// (+ r ...) with r uniform random tokens.
type RepeatedConfig struct {
	// Vocab is the number of token ids (default 128).
	Vocab int `json:"vocab" mapstructure:"vocab" yaml:"vocab"`
	// Len is |r|, the length of the random block (default 25).
	Len int `json:"len" mapstructure:"len" yaml:"len"`
	// MaxLen, when above Len, makes |r| vary per sequence, uniform in
	// [Len, MaxLen] (for training, so that a model cannot learn a
	// fixed-offset copy). [RepeatedBatch] always uses Len.
	MaxLen int `json:"max_len" mapstructure:"max_len" yaml:"max_len"`
	// Repeats is the number of copies of r in a [RepeatedBatch] sequence
	// (default 2). In a stream, rows are as long as the batch says and
	// repeat r as often as fits.
	Repeats int `json:"repeats" mapstructure:"repeats" yaml:"repeats"`
	// BOS is the id put first in every sequence (default 0); NoBOS drops it.
	BOS   int  `json:"bos" mapstructure:"bos" yaml:"bos"`
	NoBOS bool `json:"no_bos" mapstructure:"no_bos" yaml:"no_bos"`
	// The tokens of r are drawn uniformly from [MinToken, MaxToken), minus
	// Exclude and BOS. MaxToken 0 means Vocab. Use the range and the set to
	// avoid a model's commonest and rarest tokens, as Olsson et al. 2022 do.
	MinToken int   `json:"min_token" mapstructure:"min_token" yaml:"min_token"`
	MaxToken int   `json:"max_token" mapstructure:"max_token" yaml:"max_token"`
	Exclude  []int `json:"exclude" mapstructure:"exclude" yaml:"exclude"`
	// Distinct draws the tokens of r without replacement, so that every
	// token of a copy has a single earlier occurrence.
	Distinct bool `json:"distinct" mapstructure:"distinct" yaml:"distinct"`
}

// WithDefaults fills the fields left at zero: Vocab 128, Len 25, Repeats 2,
// MaxToken Vocab, MaxLen Len.
func (c RepeatedConfig) WithDefaults() RepeatedConfig {
	if c.Vocab == 0 {
		c.Vocab = 128
	}
	if c.Len == 0 {
		c.Len = 25
	}
	if c.MaxLen == 0 {
		c.MaxLen = c.Len
	}
	if c.Repeats == 0 {
		c.Repeats = 2
	}
	if c.MaxToken == 0 {
		c.MaxToken = c.Vocab
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c RepeatedConfig) Validate() error {
	_, err := c.allowed()
	return err
}

// allowed validates c and returns the ids r is drawn from.
func (c RepeatedConfig) allowed() ([]int, error) {
	var errs []error
	if c.Vocab <= 0 {
		errs = append(errs, fmt.Errorf("vocab must be positive, got %d", c.Vocab))
	}
	if c.Len <= 0 {
		errs = append(errs, fmt.Errorf("len must be positive, got %d", c.Len))
	}
	if c.MaxLen < c.Len {
		errs = append(errs, fmt.Errorf("max_len %d is below len %d", c.MaxLen, c.Len))
	}
	if c.Repeats < 2 {
		errs = append(errs, fmt.Errorf("repeats must be at least 2, got %d", c.Repeats))
	}
	if !c.NoBOS && (c.BOS < 0 || c.BOS >= c.Vocab) {
		errs = append(errs, fmt.Errorf("bos %d is outside the vocabulary [0, %d)", c.BOS, c.Vocab))
	}
	if c.MinToken < 0 || c.MaxToken > c.Vocab || c.MinToken >= c.MaxToken {
		errs = append(errs, fmt.Errorf("token range [min_token, max_token) = [%d, %d) must be a non-empty part of [0, %d)", c.MinToken, c.MaxToken, c.Vocab))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("data: repeated: %w", errors.Join(errs...))
	}
	skip := map[int]bool{}
	for _, id := range c.Exclude {
		skip[id] = true
	}
	if !c.NoBOS {
		skip[c.BOS] = true
	}
	var ids []int
	for id := c.MinToken; id < c.MaxToken; id++ {
		if !skip[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("data: repeated: %w: the range [%d, %d) minus exclude and bos is empty", errNoTokens, c.MinToken, c.MaxToken)
	}
	if c.Distinct && len(ids) < c.MaxLen {
		return nil, fmt.Errorf("data: repeated: distinct tokens: only %d ids to draw %d distinct ones from", len(ids), c.MaxLen)
	}
	return ids, nil
}

// SeqLen is the number of tokens of a [RepeatedBatch] sequence:
// (1 if BOS) + Repeats*Len. Its T is SeqLen()-1.
func (c RepeatedConfig) SeqLen() int {
	n := c.Repeats * c.Len
	if !c.NoBOS {
		n++
	}
	return n
}

// Repeated is a [Source] of [BOS] + r + r (+ r ...) sequences with r uniform
// random tokens: the prompts on which Olsson et al. 2022 (In-context Learning
// and Induction Heads) measure prefix matching, and on which induction loss
// is taken. Each row of T+1 tokens repeats r as often as fits (the last copy
// may be cut short); its [Span]s give each copy and the copy before it.
type Repeated struct {
	cfg     RepeatedConfig
	allowed []int
	stream
}

var _ Indexed = (*Repeated)(nil)

// NewRepeated returns a Repeated source for cfg (defaults filled in) and
// seed.
func NewRepeated(cfg RepeatedConfig, seed uint64) (*Repeated, error) {
	cfg = cfg.WithDefaults()
	ids, err := cfg.allowed()
	if err != nil {
		return nil, err
	}
	st, err := newStream("repeated", seed, cfg)
	if err != nil {
		return nil, err
	}
	return &Repeated{cfg: cfg, allowed: ids, stream: st}, nil
}

// RepeatedBatch returns batch sequences of exactly [BOS] + r × Repeats with
// |r| = Len (T = cfg.SeqLen()-1), for induction evaluations: prefix matching
// and induction loss (Olsson et al. 2022). The same cfg, batch and seed give
// the same tokens.
func RepeatedBatch(cfg RepeatedConfig, batch int, seed uint64) (*Batch, error) {
	cfg = cfg.WithDefaults()
	cfg.MaxLen = cfg.Len
	src, err := NewRepeated(cfg, seed)
	if err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("data: repeated: batch must be positive, got %d", batch)
	}
	b := NewBatch(batch, cfg.SeqLen()-1)
	if err := src.Next(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Config returns the source's configuration, defaults filled in.
func (s *Repeated) Config() RepeatedConfig { return s.cfg }

// Vocab returns the configured vocabulary size.
func (s *Repeated) Vocab() int { return s.cfg.Vocab }

// Next fills b with the next b.B sequences. Rows must hold two full copies
// of the longest r.
func (s *Repeated) Next(b *Batch) error { return s.fill(b, s.Sequence) }

// State returns the index of the next sequence, with the seed and a
// fingerprint of the configuration.
func (s *Repeated) State() ([]byte, error) { return s.state() }

// Restore sets the position from a State.
func (s *Repeated) Restore(state []byte) error { return s.restore(state) }

// Sequence writes sequence i into row.
func (s *Repeated) Sequence(i uint64, row []int) ([]Span, error) {
	start := 0
	if !s.cfg.NoBOS {
		start = 1
	}
	if len(row)-start < 2*s.cfg.MaxLen {
		return nil, fmt.Errorf("data: repeated: a row of %d tokens cannot hold two copies of r with |r| up to %d", len(row), s.cfg.MaxLen)
	}
	rng := rngFor(s.seed, i)
	n := s.cfg.Len
	if s.cfg.MaxLen > n {
		n += rng.IntN(s.cfg.MaxLen - n + 1)
	}
	if start == 1 {
		row[0] = s.cfg.BOS
	}
	r := row[start : start+n]
	if s.cfg.Distinct {
		pool := append([]int(nil), s.allowed...)
		for k := range r {
			j := k + rng.IntN(len(pool)-k)
			pool[k], pool[j] = pool[j], pool[k]
			r[k] = pool[k]
		}
	} else {
		for k := range r {
			r[k] = s.allowed[rng.IntN(len(s.allowed))]
		}
	}
	var spans []Span
	for dst := start + n; dst < len(row); dst += n {
		m := copy(row[dst:], r)
		spans = append(spans, Span{Src: dst - n, Dst: dst, Len: m})
	}
	return spans, nil
}
