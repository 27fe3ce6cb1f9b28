package data

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mixT is the row length T+1 - 1 of the mixture tests.
const mixT = 16

// mixtureBases builds each kind of base a mixture test runs over: the
// synthetic language, and a text corpus of pseudo-random words big enough
// for every case (read in order sequential).
func mixtureBases(t *testing.T) map[string]func(t *testing.T) Indexed {
	t.Helper()
	return map[string]func(t *testing.T) Indexed{
		"synthetic": func(t *testing.T) Indexed {
			s, err := NewSynthetic(SyntheticConfig{Vocab: 64, MinSpan: 3, MaxSpan: 6}, 7)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"text": func(t *testing.T) Indexed {
			s, err := NewText(TextConfig{Paths: []string{corpusFile(t, 40000)}, Order: OrderSequential}, nil, 7)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// corpusFile writes about n bytes of pseudo-random words: text in which no
// two windows of mixT+1 tokens coincide (in practice), so content hashes
// tell sequences apart.
func corpusFile(t *testing.T, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < n {
		for range 2 + rng.IntN(7) {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
		b.WriteByte(" \n"[rng.IntN(2)])
	}
	p := filepath.Join(t.TempDir(), "corpus.txt")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rowHash(row []int) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, row)
	return h.Sum64()
}

// readAll reads n sequences of src by index and returns their hashes.
func readAll(t *testing.T, src Indexed, n int) []uint64 {
	t.Helper()
	row := make([]int, mixT+1)
	out := make([]uint64, n)
	for i := range n {
		if _, err := src.Sequence(uint64(i), row); err != nil {
			t.Fatalf("sequence %d: %v", i, err)
		}
		out[i] = rowHash(row)
	}
	return out
}

func TestMixtureAccounting(t *testing.T) {
	tests := []struct {
		name string
		cfg  MixtureConfig
	}{
		{"divisible", MixtureConfig{Fraction: 0.5, Epochs: 4, Sequences: 400, HeldOut: 16}},
		{"f·N/E not an integer", MixtureConfig{Fraction: 0.25, Epochs: 3, Sequences: 100, HeldOut: 8}},
		{"mostly repeats", MixtureConfig{Fraction: 0.9, Epochs: 10, Sequences: 1000}},
		{"one epoch, rounding up", MixtureConfig{Fraction: 0.1, Epochs: 1, Sequences: 37, HeldOut: 5}},
		{"rounding near the budget", MixtureConfig{Fraction: 0.7, Epochs: 7, Sequences: 99, HeldOut: 3}},
		{"subset of one", MixtureConfig{Fraction: 0.5, Epochs: 50, Sequences: 100, HeldOut: 2}},
		{"f = 0: all unique", MixtureConfig{Sequences: 50, HeldOut: 10}},
	}
	for baseName, newBase := range mixtureBases(t) {
		for _, tt := range tests {
			t.Run(baseName+"/"+tt.name, func(t *testing.T) {
				base := newBase(t)
				m, err := NewMixture(base, tt.cfg, 3)
				if err != nil {
					t.Fatal(err)
				}
				c := tt.cfg
				N, E, H, S := c.Sequences, c.Epochs, c.HeldOut, m.Subset()
				R := S * E
				U := N - R

				// The realized share: exactly f when f·N/E is an integer, else
				// within E/(2N) (the rounding of S).
				x := c.Fraction * float64(N) / max(float64(E), 1)
				if got := m.RepeatedShare(); math.Abs(x-math.Round(x)) < 1e-9 {
					if math.Abs(got-c.Fraction) > 1e-12 {
						t.Errorf("RepeatedShare() = %g, want exactly f = %g", got, c.Fraction)
					}
				} else if math.Abs(got-c.Fraction) > float64(E)/(2*float64(N))+1e-12 {
					t.Errorf("RepeatedShare() = %g, more than E/(2N) from f = %g", got, c.Fraction)
				}
				if got := m.RepeatedShare() * float64(N); math.Abs(got-float64(R)) > 1e-9 {
					t.Errorf("RepeatedShare()·N = %g, want R = %d", got, R)
				}
				if c.Fraction == 0 && S != 0 {
					t.Errorf("f = 0: subset %d, want 0", S)
				}

				hashes := readAll(t, m, N)
				subset := readAll(t, m.SubsetSource(), S)
				held := readAll(t, m.HeldOut(), H)
				seen := make([]int, S)
				var order []uint64 // subset items in the order the repeats show them
				uniqueRank := map[uint64]bool{}
				unique := map[uint64]int{} // content hash -> position
				repeats := 0
				for p := range N {
					rep, item, err := m.Slot(uint64(p))
					if err != nil {
						t.Fatal(err)
					}
					// Every prefix of p+1 positions holds (p+1)·R/N repeats, ± 1.
					if rep {
						repeats++
					}
					if d := float64(repeats) - float64(p+1)*float64(R)/float64(N); math.Abs(d) >= 1 {
						t.Fatalf("after %d positions %d repeats, %g off the even share", p+1, repeats, d)
					}
					if rep {
						if item >= uint64(S) {
							t.Fatalf("position %d: subset item %d >= S = %d", p, item, S)
						}
						seen[item]++
						order = append(order, item)
						if hashes[p] != subset[item] {
							t.Fatalf("position %d shows other content than subset item %d", p, item)
						}
						continue
					}
					if item >= uint64(U) || uniqueRank[item] {
						t.Fatalf("position %d: unique rank %d out of [0, %d) or seen twice", p, item, U)
					}
					uniqueRank[item] = true
					if q, dup := unique[hashes[p]]; dup {
						t.Fatalf("positions %d and %d show the same unique content", q, p)
					}
					unique[hashes[p]] = p
				}
				if repeats != R || len(uniqueRank) != U {
					t.Errorf("%d repeats and %d unique, want R = %d and U = %d", repeats, len(uniqueRank), R, U)
				}
				for j, n := range seen {
					if n != E {
						t.Errorf("subset item %d seen %d times, want E = %d", j, n, E)
					}
				}
				distinctOrders := map[string]bool{}
				for e := range E * min(S, 1) {
					ep := slices.Clone(order[e*S : (e+1)*S])
					distinctOrders[fmt.Sprint(ep)] = true
					slices.Sort(ep)
					for j, v := range ep {
						if v != uint64(j) {
							t.Fatalf("epoch %d is not a permutation of the subset: %v", e, order[e*S:(e+1)*S])
						}
					}
				}
				if S >= 5 && E >= 2 && len(distinctOrders) < 2 {
					t.Errorf("every epoch shows the subset in the same order")
				}
				// Held-out, subset and unique content are disjoint.
				subsetSet := map[uint64]bool{}
				for _, h := range subset {
					subsetSet[h] = true
					if _, ok := unique[h]; ok {
						t.Fatal("a subset sequence also appears as a unique one")
					}
				}
				for i, h := range held {
					if _, ok := unique[h]; ok || subsetSet[h] {
						t.Fatalf("held-out sequence %d is trained on", i)
					}
				}
				if len(subsetSet) != S {
					t.Errorf("subset has %d distinct contents, want %d", len(subsetSet), S)
				}

				row := make([]int, mixT+1)
				for _, tc := range []struct {
					src  Indexed
					i    int
					want string
				}{
					{m, N, fmt.Sprintf("the budget of %d sequences is spent", N)},
					{m.HeldOut(), H, fmt.Sprintf("past the held-out set of %d", H)},
					{m.SubsetSource(), S, fmt.Sprintf("past the repeated subset of %d", S)},
				} {
					if _, err := tc.src.Sequence(uint64(tc.i), row); err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("sequence %d: got %v, want an error containing %q", tc.i, err, tc.want)
					}
				}
			})
		}
	}
}

// nextAll returns the tokens of k batches of b rows.
func nextAll(t *testing.T, s Source, k, b int) string {
	t.Helper()
	batch := NewBatch(b, mixT)
	var out []int
	for range k {
		if err := s.Next(batch); err != nil {
			t.Fatal(err)
		}
		out = append(out, batch.Tokens...)
	}
	return fmt.Sprint(out)
}

func TestMixtureDeterminismAndResume(t *testing.T) {
	cfg := MixtureConfig{Fraction: 0.5, Epochs: 5, Sequences: 240, HeldOut: 8}
	for baseName, newBase := range mixtureBases(t) {
		t.Run(baseName, func(t *testing.T) {
			mk := func(seed uint64) *Mixture {
				m, err := NewMixture(newBase(t), cfg, seed)
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			a, b := nextAll(t, mk(1), 20, 12), nextAll(t, mk(1), 20, 12)
			if a != b {
				t.Error("the same seed gave different streams")
			}
			if c := nextAll(t, mk(2), 20, 12); c == a {
				t.Error("another seed gave the same stream")
			}

			// Resume mid-stream, with another batch size after the restore.
			m := mk(1)
			nextAll(t, m, 7, 12)
			state, err := m.State()
			if err != nil {
				t.Fatal(err)
			}
			want := nextAll(t, m, 13, 12)
			r := mk(1)
			if err := r.Restore(state); err != nil {
				t.Fatal(err)
			}
			if got := nextAll(t, r, 13, 12); got != want {
				t.Error("restored stream differs")
			}
			if err := r.Next(NewBatch(12, mixT)); err == nil || !strings.Contains(err.Error(), "spent") {
				t.Errorf("past the budget: got %v", err)
			}
			// A state does not restore into another seed or configuration.
			if err := mk(2).Restore(state); err == nil {
				t.Error("a state restored into a mixture with another seed")
			}
			other, err := NewMixture(newBase(t), MixtureConfig{Fraction: 0.5, Epochs: 4, Sequences: 240, HeldOut: 8}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Restore(state); err == nil || !strings.Contains(err.Error(), "differently configured") {
				t.Errorf("restore into other epochs: got %v", err)
			}
		})
	}
}

// TestMixtureHeldOutStable checks the held-out set is the same for every f
// and E: test losses of a study compare.
func TestMixtureHeldOutStable(t *testing.T) {
	base, err := NewSynthetic(SyntheticConfig{Vocab: 64, MinSpan: 3, MaxSpan: 6}, 7)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, c := range []MixtureConfig{
		{Sequences: 100, HeldOut: 10},
		{Fraction: 0.5, Epochs: 2, Sequences: 100, HeldOut: 10},
		{Fraction: 0.9, Epochs: 30, Sequences: 100, HeldOut: 10},
	} {
		m, err := NewMixture(base, c, 4)
		if err != nil {
			t.Fatal(err)
		}
		got := nextAll(t, m.HeldOut(), 1, 10)
		if first == "" {
			first = got
		} else if got != first {
			t.Errorf("held-out set of %+v differs from that of f = 0", c)
		}
	}
}

func TestMixtureErrors(t *testing.T) {
	base, err := NewSynthetic(SyntheticConfig{Vocab: 64, MinSpan: 3, MaxSpan: 6}, 7)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  MixtureConfig
		want string
	}{
		{"f = 1", MixtureConfig{Fraction: 1, Epochs: 2, Sequences: 100}, "fraction must be in [0, 1), got 1"},
		{"f > 1", MixtureConfig{Fraction: 1.5, Epochs: 2, Sequences: 100}, "fraction must be in [0, 1), got 1.5"},
		{"f < 0", MixtureConfig{Fraction: -0.1, Epochs: 2, Sequences: 100}, "fraction must be in [0, 1)"},
		{"f NaN", MixtureConfig{Fraction: math.NaN(), Epochs: 2, Sequences: 100}, "fraction must be in [0, 1), got NaN"},
		{"E = 0", MixtureConfig{Fraction: 0.5, Sequences: 100}, "epochs must be at least 1 when fraction > 0, got 0"},
		{"N = 0", MixtureConfig{Fraction: 0.5, Epochs: 2}, "sequences (the training budget) must be positive, got 0"},
		{"H < 0", MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: 100, HeldOut: -1}, "held_out must be non-negative, got -1"},
		{"empty subset", MixtureConfig{Fraction: 0.01, Epochs: 100, Sequences: 1000}, "the repeated subset is empty"},
		{"repeats over budget", MixtureConfig{Fraction: 0.9, Epochs: 6, Sequences: 10}, "(subset 2 × 6 epochs = 12 sequences) exceed the budget of 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMixture(base, tt.cfg, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "data: mixture: ") {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewMixture(nil, MixtureConfig{Sequences: 1}, 1); err == nil {
		t.Error("nil base: no error")
	}

	// Text: random windows are refused; a corpus too small for the layout
	// fails with the mixture's numbers.
	p := corpusFile(t, 1000) // 58 windows of 17 tokens, and some bytes
	random, err := NewText(TextConfig{Paths: []string{p}}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMixture(random, MixtureConfig{Sequences: 10}, 1); err == nil || !strings.Contains(err.Error(), `a text base needs order "sequential", got "random"`) {
		t.Errorf("random text base: got %v", err)
	}
	seq, err := NewText(TextConfig{Paths: []string{p}, Order: OrderSequential}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := seq.Windows(mixT + 1)
	m, err := NewMixture(seq, MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: 100, HeldOut: 10}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the text corpus holds %d windows of %d tokens, fewer than the 85 the mixture lays out (held_out 10 + subset 25 + unique 50)", w, mixT+1)
	for name, src := range map[string]Indexed{"mixture": m, "held-out": m.HeldOut(), "subset": m.SubsetSource()} {
		if err := src.Next(NewBatch(1, mixT)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s over a small corpus: got %v, want %q", name, err, want)
		}
	}
	fits, err := NewMixture(seq, MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: int(w) - 10 - 10, HeldOut: 10}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fits.Sequence(uint64(fits.Config().Sequences-1), make([]int, mixT+1)); err != nil {
		t.Errorf("a corpus that just fits: %v", err)
	}
}

func TestMixtureFromConfig(t *testing.T) {
	p := corpusFile(t, 5000)
	tests := []struct {
		name string
		cfg  Config
		want string // error, or "" for none
	}{
		{"synthetic", Config{Seed: 2, Synthetic: SyntheticConfig{MinSpan: 3, MaxSpan: 6}, Mixture: MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: 40, HeldOut: 4}}, ""},
		{"f = 0 still a mixture", Config{Seed: 2, Synthetic: SyntheticConfig{MinSpan: 3, MaxSpan: 6}, Mixture: MixtureConfig{Sequences: 40, HeldOut: 4}}, ""},
		{"text, order set to sequential", Config{Kind: KindText, Text: TextConfig{Paths: []string{p}, Order: OrderRandom},
			Mixture: MixtureConfig{Fraction: 0.5, Epochs: 2, Sequences: 40, HeldOut: 4}}, ""},
		{"repeated", Config{Kind: KindRepeated, Repeated: RepeatedConfig{Len: 5}, Mixture: MixtureConfig{Fraction: 0.2, Epochs: 4, Sequences: 40}}, ""},
		{"sequences unset", Config{Mixture: MixtureConfig{Fraction: 0.5, Epochs: 2}}, "sequences (the training budget N) is 0"},
		{"bad fraction", Config{Mixture: MixtureConfig{Fraction: 1.5, Epochs: 2, Sequences: 10}}, "fraction must be in [0, 1), got 1.5"},
		{"bad kind and fraction", Config{Kind: "pictures", Mixture: MixtureConfig{Fraction: 2}}, `kind "pictures"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMixtureFrom(tt.cfg)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Config() != tt.cfg.Mixture {
				t.Errorf("Config() = %+v, want %+v", m.Config(), tt.cfg.Mixture)
			}
			// New gives the same stream when f > 0, and the plain source when
			// f = 0.
			src, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, isMix := src.(*Mixture)
			if isMix != (tt.cfg.Mixture.Fraction > 0) {
				t.Fatalf("New returned %T for fraction %g", src, tt.cfg.Mixture.Fraction)
			}
			if isMix && nextAll(t, src, 2, 20) != nextAll(t, m, 2, 20) {
				t.Error("New and NewMixtureFrom give different streams")
			}
		})
	}
	// Validate accepts sequences 0 (filled in later) but New does not.
	c := Config{Mixture: MixtureConfig{Fraction: 0.5, Epochs: 2}}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with sequences 0: %v", err)
	}
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "sequences (the training budget N) is 0") {
		t.Errorf("New with sequences 0: got %v", err)
	}
	if c := (Config{Kind: KindText, Mixture: MixtureConfig{Fraction: 0.5}}).WithDefaults(); c.Text.Order != OrderSequential {
		t.Errorf("WithDefaults with a mixture over text: order %q", c.Text.Order)
	}
}

// TestPermute checks the Feistel permutation is a bijection of [0, n) for
// sizes around powers of two and odd bit counts.
func TestPermute(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 1000, 4097} {
		for _, key := range []uint64{0, 1, 0xdeadbeef} {
			hit := make([]bool, n)
			fixed := 0
			for x := range n {
				y := permute(x, n, key)
				if y >= n || hit[y] {
					t.Fatalf("n=%d key=%d: π(%d) = %d repeats or is out of range", n, key, x, y)
				}
				hit[y] = true
				if y == x {
					fixed++
				}
			}
			if n >= 100 && fixed > int(n)/10 {
				t.Errorf("n=%d key=%d: %d fixed points: hardly shuffled", n, key, fixed)
			}
		}
	}
}

func TestMulDiv(t *testing.T) {
	big := uint64(1) << 62
	for _, c := range []struct{ a, b, c, want uint64 }{
		{0, 5, 7, 0}, {7, 5, 7, 5}, {3, 5, 7, 2}, {big, big - 1, big, big - 1}, {big - 1, big - 1, big, big - 2},
	} {
		if got := mulDiv(c.a, c.b, c.c); got != c.want {
			t.Errorf("mulDiv(%d, %d, %d) = %d, want %d", c.a, c.b, c.c, got, c.want)
		}
	}
}
