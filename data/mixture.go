package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// MixtureConfig configures a [Mixture]: a fixed training budget of
// Sequences sequences of which a share Fraction repeat a small subset,
// each subset sequence seen Epochs times, while the rest are unique (seen
// once). This is the setting of Hernandez et al. 2022 (Scaling Laws and
// Interpretability of Learning from Repeated Data): repeats replace unique
// tokens, the total stays fixed. It is the `data.mixture` section of a
// training config:
//
//	data:
//	  kind: synthetic
//	  mixture:
//	    fraction: 0.5   # f: share of the budget that is repeats
//	    epochs: 100     # E: times each subset sequence is seen
//	    sequences: 0    # N: the budget; train fills in steps × batch_size
//	    held_out: 0     # H: train fills in eval_batches × batch_size
//
// All sequences of a run have the same length, so shares of sequences are
// shares of tokens.
type MixtureConfig struct {
	// Fraction is f, the share of the training budget that repeats the
	// subset, in [0, 1). 0 means no mixture (every sequence unique).
	Fraction float64 `json:"fraction" mapstructure:"fraction" yaml:"fraction"`
	// Epochs is E, the number of times each subset sequence is seen; at
	// least 1 when Fraction > 0.
	Epochs int `json:"epochs" mapstructure:"epochs" yaml:"epochs"`
	// Sequences is N, the training budget in sequences (steps × batch).
	Sequences int `json:"sequences" mapstructure:"sequences" yaml:"sequences"`
	// HeldOut is H, the number of held-out sequences, for the test loss.
	HeldOut int `json:"held_out" mapstructure:"held_out" yaml:"held_out"`
}

// Validate reports what is wrong with c: f outside [0, 1), E < 1 with
// f > 0, N < 1, H < 0, a subset that rounds to no sequence, or repeats
// that exceed the budget.
func (c MixtureConfig) Validate() error { return c.validate(true) }

// validate checks c; without needBudget, Sequences 0 is accepted as "to be
// filled in" (the CLI fills it from the train section after the config is
// loaded).
func (c MixtureConfig) validate(needBudget bool) error {
	var errs []error
	if !(c.Fraction >= 0 && c.Fraction < 1) {
		errs = append(errs, fmt.Errorf("fraction must be in [0, 1), got %g", c.Fraction))
	}
	if c.Epochs < 0 || (c.Fraction > 0 && c.Epochs < 1) {
		errs = append(errs, fmt.Errorf("epochs must be at least 1 when fraction > 0, got %d", c.Epochs))
	}
	if c.Sequences < 0 || (needBudget && c.Sequences == 0) {
		errs = append(errs, fmt.Errorf("sequences (the training budget) must be positive, got %d", c.Sequences))
	}
	if c.HeldOut < 0 {
		errs = append(errs, fmt.Errorf("held_out must be non-negative, got %d", c.HeldOut))
	}
	if len(errs) == 0 && c.Fraction > 0 && c.Sequences > 0 {
		x := c.Fraction * float64(c.Sequences) / float64(c.Epochs)
		s := c.subset()
		switch {
		case s < 1:
			errs = append(errs, fmt.Errorf("the repeated subset is empty: fraction × sequences / epochs = %g × %d / %d = %.3g rounds to 0; raise fraction or sequences, or lower epochs", c.Fraction, c.Sequences, c.Epochs, x))
		case s*uint64(c.Epochs) > uint64(c.Sequences):
			errs = append(errs, fmt.Errorf("the repeats (subset %d × %d epochs = %d sequences) exceed the budget of %d sequences; lower fraction or epochs", s, c.Epochs, s*uint64(c.Epochs), c.Sequences))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("data: mixture: %w", errors.Join(errs...))
	}
	return nil
}

// subset is S = round(f·N/E), 0 when f = 0.
func (c MixtureConfig) subset() uint64 {
	if c.Fraction <= 0 || c.Epochs < 1 {
		return 0
	}
	return uint64(math.Round(c.Fraction * float64(c.Sequences) / float64(c.Epochs)))
}

// Mixture is an [Indexed] source of N training sequences from a base
// source, laid out on the base's sequence indices as
//
//	[0, H)          held-out ([Mixture.HeldOut]): never trained on
//	[H, H+S)        the repeated subset ([Mixture.SubsetSource])
//	[H+S, H+S+U)    unique sequences, each trained on once
//
// The held-out set comes first so that it is the same for every f and E of
// a study, and test losses compare across runs.
//
// Of the N training positions, R = S·E are repeats with S = round(f·N/E),
// and U = N − R are unique: repeats replace unique sequences, as in
// Hernandez et al. 2022. The realized share R/N is exactly f when f·N/E is
// an integer and within E/(2N) of f otherwise (the rounding of S).
//
// Repeats are spread evenly over training (Bresenham's rule): position p is
// a repeat iff ⌊(p+1)R/N⌋ > ⌊pR/N⌋, so every prefix of p positions holds
// ⌊pR/N⌋ repeats, within one of p·f, and the repeated data is seen
// throughout training as in the paper rather than in a block. The k-th
// repeat belongs to epoch e = k/S and shows subset item π_e(k mod S), where
// π_e is a pseudo-random permutation of [0, S) keyed by (seed, e): each
// subset sequence is seen exactly E times, in a fresh order every epoch. The
// u-th unique position shows base sequence H+S+u. Everything is
// deterministic in (base, config, seed), and the state is one index, as for
// every source.
//
// Spans planted by the base are passed through. A [Text] base must use
// order "sequential", whose windows do not overlap (random windows do, and
// "unique" sequences would share text).
type Mixture struct {
	base    Indexed
	cfg     MixtureConfig
	h, s, r uint64 // held-out H, subset S, repeated slots R = S·E
	n       uint64 // budget N
	text    *Text  // the base, when it is a text corpus (for the size check)
	stream
}

var _ Indexed = (*Mixture)(nil)

// NewMixture returns the mixture cfg describes over base, with seed seed
// ordering the repeats within each epoch.
func NewMixture(base Indexed, cfg MixtureConfig, seed uint64) (*Mixture, error) {
	if base == nil {
		return nil, errors.New("data: mixture: no base source")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Mixture{base: base, cfg: cfg, h: uint64(cfg.HeldOut), n: uint64(cfg.Sequences), s: cfg.subset()}
	m.r = m.s * uint64(max(cfg.Epochs, 0))
	if t, ok := base.(*Text); ok {
		if t.cfg.Order != OrderSequential {
			return nil, fmt.Errorf("data: mixture: a text base needs order %q, got %q: random windows overlap, so unique sequences would repeat text", OrderSequential, t.cfg.Order)
		}
		m.text = t
	}
	id, err := identity(base)
	if err != nil {
		return nil, fmt.Errorf("data: mixture: %w", err)
	}
	m.stream, err = newStream("mixture", seed, struct {
		Config MixtureConfig
		Base   any
	}{cfg, id})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// identity is what identifies base for the fingerprint: its kind, seed and
// config fingerprint (its position left out), or for a source of another
// package its type and state.
func identity(base Indexed) (any, error) {
	st, err := base.State()
	if err != nil {
		return nil, fmt.Errorf("the base source's state: %w", err)
	}
	var ss streamState
	if json.Unmarshal(st, &ss) == nil && ss.Kind != "" {
		ss.Next = 0
		return ss, nil
	}
	return struct{ Type, State string }{fmt.Sprintf("%T", base), string(st)}, nil
}

// Config returns the mixture's configuration.
func (m *Mixture) Config() MixtureConfig { return m.cfg }

// Subset returns S, the number of distinct repeated sequences.
func (m *Mixture) Subset() int { return int(m.s) }

// RepeatedShare returns R/N, the realized share of repeats in the budget.
func (m *Mixture) RepeatedShare() float64 { return float64(m.r) / float64(m.n) }

// Vocab returns the base's vocabulary size.
func (m *Mixture) Vocab() int { return m.base.Vocab() }

// Next fills b with the next b.B training sequences.
func (m *Mixture) Next(b *Batch) error { return m.fill(b, m.Sequence) }

// State returns the index of the next training sequence, with the seed and a
// fingerprint of the configuration and the base.
func (m *Mixture) State() ([]byte, error) { return m.state() }

// Restore sets the position from a State.
func (m *Mixture) Restore(state []byte) error { return m.restore(state) }

// Slot tells what training position i shows: a repeat of subset item item
// (in [0, S)), or the unique sequence of rank item (in [0, U)).
func (m *Mixture) Slot(i uint64) (repeated bool, item uint64, err error) {
	if i >= m.n {
		return false, 0, fmt.Errorf("data: mixture: sequence %d is past the training budget: the budget of %d sequences is spent", i, m.n)
	}
	before, upto := mulDiv(i, m.r, m.n), mulDiv(i+1, m.r, m.n)
	if upto == before {
		return false, i - before, nil // i − (repeats before i) unique positions precede i
	}
	k := upto - 1 // the repeat's rank
	epoch := k / m.s
	return true, permute(k%m.s, m.s, epochKey(m.seed, epoch)), nil
}

// Sequence writes training sequence i into row: base sequence H+item for a
// repeat, H+S+item for a unique sequence (see [Mixture.Slot]).
func (m *Mixture) Sequence(i uint64, row []int) ([]Span, error) {
	rep, item, err := m.Slot(i)
	if err != nil {
		return nil, err
	}
	idx := m.h + m.s + item
	if rep {
		idx = m.h + item
	}
	return m.baseSequence(idx, row)
}

// baseSequence reads base sequence idx, first checking that a text corpus
// holds the whole layout, so that a short corpus fails with the mixture's
// numbers rather than at some window deep into training.
func (m *Mixture) baseSequence(idx uint64, row []int) ([]Span, error) {
	if m.text != nil {
		need := m.h + m.s + (m.n - m.r)
		if w := m.text.Windows(len(row)); uint64(w) < need {
			return nil, fmt.Errorf("data: mixture: the text corpus holds %d windows of %d tokens, fewer than the %d the mixture lays out (held_out %d + subset %d + unique %d): add text, or lower sequences or held_out", w, len(row), need, m.h, m.s, m.n-m.r)
		}
	}
	return m.base.Sequence(idx, row)
}

// HeldOut returns a stream over base sequences [0, H), the held-out set:
// disjoint from everything the mixture trains on, and the same for every f
// and E. Reading past H is an error.
func (m *Mixture) HeldOut() Indexed { return m.part("mixture-held-out", "held-out set", 0, m.h) }

// SubsetSource returns a stream over the S subset sequences (base [H, H+S)),
// each once, for measuring the loss on the repeated data (how far it is
// memorized). Reading past S is an error.
func (m *Mixture) SubsetSource() Indexed {
	return m.part("mixture-subset", "repeated subset", m.h, m.s)
}

func (m *Mixture) part(kind, what string, off, n uint64) Indexed {
	// The fingerprint is the mixture's (set in NewMixture, so it cannot fail
	// here).
	return &mixturePart{m: m, what: what, off: off, n: n, stream: stream{kind: kind, seed: m.seed, fp: m.fp}}
}

// mixturePart is a stream over n base sequences from off.
type mixturePart struct {
	m      *Mixture
	what   string
	off, n uint64
	stream
}

func (p *mixturePart) Vocab() int                 { return p.m.Vocab() }
func (p *mixturePart) Next(b *Batch) error        { return p.fill(b, p.Sequence) }
func (p *mixturePart) State() ([]byte, error)     { return p.state() }
func (p *mixturePart) Restore(state []byte) error { return p.restore(state) }

func (p *mixturePart) Sequence(i uint64, row []int) ([]Span, error) {
	if i >= p.n {
		return nil, fmt.Errorf("data: mixture: sequence %d is past the %s of %d sequences", i, p.what, p.n)
	}
	return p.m.baseSequence(p.off+i, row)
}

// mulDiv returns ⌊a·b/c⌋ without overflow, for a, b <= c.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c) // hi < c since a·b <= c·c < c·2^64
	return q
}

// permute returns π(x) for a pseudo-random permutation π of [0, n) chosen by
// key, in O(1) memory: a 6-round balanced Feistel network on the smallest
// even number of bits covering n, cycle-walked back into [0, n) (at most a
// few steps on average, since the network's domain is under 4n).
func permute(x, n, key uint64) uint64 {
	if n <= 1 {
		return 0
	}
	half := uint((bits.Len64(n-1) + 1) / 2)
	mask := uint64(1)<<half - 1
	for {
		l, r := x>>half, x&mask
		for round := range uint64(6) {
			l, r = r, l^(splitmix(r^splitmix(key+round))&mask)
		}
		x = l<<half | r
		if x < n {
			return x
		}
	}
}

// epochKey is the permutation key of epoch e: a hash of (seed, e), mixed
// with a constant so that it is unrelated to the base's rngFor(seed, i).
func epochKey(seed, e uint64) uint64 {
	return splitmix(seed ^ splitmix(e+0x6d69787475726521))
}
