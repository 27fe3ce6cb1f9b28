package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Batch is B sequences of T+1 tokens each, stored row-major in Tokens. A
// model reads the inputs Tokens[:, :T] and predicts the targets
// Tokens[:, 1:].
type Batch struct {
	B, T int
	// Tokens holds B rows of T+1 token ids.
	Tokens []int
	// Spans lists, per row, the repeated spans a source planted (nil for
	// sources that plant none, such as [Text]). Positions index the row of
	// T+1 tokens.
	Spans [][]Span
}

// Span is a stretch of a sequence that repeats an earlier stretch:
// row[Dst+j] == row[Src+j] for 0 <= j < Len, with Src+Len <= Dst. An
// induction head can predict the tokens at Dst+1 ... Dst+Len-1 (the target of
// input position Dst+j-1 for j >= 1); the token at Dst is not predictable
// from the copy.
type Span struct {
	Src, Dst, Len int
}

// NewBatch returns a batch of b rows of t+1 tokens, ready for [Source.Next].
func NewBatch(b, t int) *Batch {
	return &Batch{B: b, T: t, Tokens: make([]int, b*(t+1)), Spans: make([][]Span, b)}
}

// Row returns row i, T+1 tokens, sharing memory with b.Tokens.
func (b *Batch) Row(i int) []int { return b.Tokens[i*(b.T+1) : (i+1)*(b.T+1)] }

// Inputs returns a new B*T slice of the input tokens (every row but its last
// token), in the [batch, pos] layout a model's Forward takes.
func (b *Batch) Inputs() []int {
	out := make([]int, 0, b.B*b.T)
	for i := 0; i < b.B; i++ {
		out = append(out, b.Row(i)[:b.T]...)
	}
	return out
}

// Targets returns a new B*T slice of the target tokens (every row but its
// first token).
func (b *Batch) Targets() []int {
	out := make([]int, 0, b.B*b.T)
	for i := 0; i < b.B; i++ {
		out = append(out, b.Row(i)[1:]...)
	}
	return out
}

func (b *Batch) check() error {
	if b.B <= 0 || b.T <= 0 {
		return fmt.Errorf("data: batch shape B=%d T=%d: both must be positive", b.B, b.T)
	}
	if n := b.B * (b.T + 1); len(b.Tokens) != n {
		if cap(b.Tokens) >= n {
			b.Tokens = b.Tokens[:n]
		} else {
			b.Tokens = make([]int, n)
		}
	}
	if len(b.Spans) != b.B {
		b.Spans = make([][]Span, b.B)
	}
	return nil
}

// Source is a deterministic stream of token sequences for training.
type Source interface {
	// Next fills b.B rows of b.T+1 tokens (b.B and b.T are set by the
	// caller, for example with [NewBatch]) and advances the stream by b.B
	// sequences.
	Next(b *Batch) error
	// Vocab is the number of token ids: every id produced is in
	// [0, Vocab()).
	Vocab() int
	// State returns the stream position, for an exact resume.
	State() ([]byte, error)
	// Restore sets the stream position from a State of a source built from
	// the same configuration and seed.
	Restore(state []byte) error
}

// Indexed is a Source whose sequences can be generated in any order: the
// stream's i-th sequence depends only on i, the seed and the configuration.
// Sequence is safe for concurrent use.
type Indexed interface {
	Source
	// Sequence writes sequence i into row (its length is T+1) and returns
	// the spans it planted.
	Sequence(i uint64, row []int) ([]Span, error)
}

// stream holds what all sources share: the seed, a fingerprint of the
// configuration, and the index of the next sequence.
type stream struct {
	kind string
	seed uint64
	fp   uint64
	next uint64
}

func newStream(kind string, seed uint64, config any) (stream, error) {
	fp, err := fingerprint(config)
	if err != nil {
		return stream{}, fmt.Errorf("data: %s: %w", kind, err)
	}
	return stream{kind: kind, seed: seed, fp: fp}, nil
}

func fingerprint(v any) (uint64, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	h := fnv.New64a()
	h.Write(js)
	return h.Sum64(), nil
}

type streamState struct {
	Kind        string `json:"kind"`
	Seed        uint64 `json:"seed"`
	Fingerprint string `json:"config_fingerprint"`
	Next        uint64 `json:"next_sequence"`
}

func (s *stream) state() ([]byte, error) {
	return json.Marshal(streamState{s.kind, s.seed, fmt.Sprintf("%016x", s.fp), s.next})
}

func (s *stream) restore(b []byte) error {
	var st streamState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("data: %s: restoring state: %w", s.kind, err)
	}
	fp := fmt.Sprintf("%016x", s.fp)
	switch {
	case st.Kind != s.kind:
		return fmt.Errorf("data: %s: restoring state of a %q source", s.kind, st.Kind)
	case st.Seed != s.seed:
		return fmt.Errorf("data: %s: restoring state with seed %d into a source with seed %d", s.kind, st.Seed, s.seed)
	case st.Fingerprint != fp:
		return fmt.Errorf("data: %s: restoring state of a differently configured source (config fingerprint %s, want %s)", s.kind, st.Fingerprint, fp)
	}
	s.next = st.Next
	return nil
}

// fill writes b.B sequences starting at s.next using seq, then advances.
func (s *stream) fill(b *Batch, seq func(i uint64, row []int) ([]Span, error)) error {
	if err := b.check(); err != nil {
		return err
	}
	for r := 0; r < b.B; r++ {
		spans, err := seq(s.next+uint64(r), b.Row(r))
		if err != nil {
			return err
		}
		b.Spans[r] = spans
	}
	s.next += uint64(b.B)
	return nil
}

// rngFor returns the generator of sequence i of the stream with the given
// seed: a PCG whose two seed words are hashes of (seed, i), so neighbouring
// sequences get unrelated streams.
func rngFor(seed, i uint64) *rand.Rand {
	a := splitmix(seed ^ splitmix(i))
	b := splitmix(i + 0x9e3779b97f4a7c15*splitmix(seed+1))
	return rand.New(rand.NewPCG(a, b))
}

// splitmix is the SplitMix64 finalizer.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var errNoTokens = errors.New("no token ids to draw from")
