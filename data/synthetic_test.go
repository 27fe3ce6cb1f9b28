package data

import (
	"math"
	"strings"
	"testing"
)

// checkSpans verifies the spans of row: in range, copies equal their
// sources, sources before copies, no two copies overlapping.
func checkSpans(t *testing.T, row []int, spans []Span, minLen, maxLen int) {
	t.Helper()
	covered := make([]bool, len(row))
	for _, sp := range spans {
		if sp.Len < minLen || sp.Len > maxLen {
			t.Fatalf("span %+v: length outside [%d, %d]", sp, minLen, maxLen)
		}
		if sp.Src < 0 || sp.Src+sp.Len > sp.Dst || sp.Dst+sp.Len > len(row) {
			t.Fatalf("span %+v: bad placement in a row of %d", sp, len(row))
		}
		for j := range sp.Len {
			if row[sp.Dst+j] != row[sp.Src+j] {
				t.Fatalf("span %+v: row[%d]=%d differs from row[%d]=%d", sp, sp.Dst+j, row[sp.Dst+j], sp.Src+j, row[sp.Src+j])
			}
			if covered[sp.Dst+j] {
				t.Fatalf("span %+v overlaps another copy", sp)
			}
			covered[sp.Dst+j] = true
		}
	}
}

func TestSyntheticSpans(t *testing.T) {
	tests := []struct {
		name string
		cfg  SyntheticConfig
		T    int
	}{
		{"defaults", SyntheticConfig{}, 64},
		{"tight fit", SyntheticConfig{}, 58},
		{"three spans", SyntheticConfig{Spans: 3, MinSpan: 2, MaxSpan: 10}, 128},
		{"fixed length", SyntheticConfig{MinSpan: 5, MaxSpan: 5}, 32},
		{"bos in the middle", SyntheticConfig{Vocab: 20, BOS: 10, Successors: 4}, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSynthetic(tt.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			c := s.Config()
			b := NewBatch(500, tt.T)
			if err := s.Next(b); err != nil {
				t.Fatal(err)
			}
			checkIDs(t, b, c.Vocab)
			lens, offsets := map[int]bool{}, map[int]bool{}
			for i := range b.B {
				row := b.Row(i)
				if row[0] != c.BOS {
					t.Fatalf("row %d starts with %d, not BOS %d", i, row[0], c.BOS)
				}
				for p, id := range row[1:] {
					if id == c.BOS {
						t.Fatalf("row %d has BOS at position %d", i, p+1)
					}
				}
				if len(b.Spans[i]) != c.Spans {
					t.Fatalf("row %d has %d spans, want %d", i, len(b.Spans[i]), c.Spans)
				}
				checkSpans(t, row, b.Spans[i], c.MinSpan, c.MaxSpan)
				for _, sp := range b.Spans[i] {
					lens[sp.Len] = true
					offsets[sp.Dst-sp.Src] = true
				}
			}
			if want := c.MaxSpan - c.MinSpan + 1; len(lens) != want {
				t.Errorf("saw %d distinct span lengths in 500 rows, want all %d", len(lens), want)
			}
			if tt.T-c.MinT() > 4 && len(offsets) < 5 {
				t.Errorf("saw only %d distinct copy distances: offsets must vary", len(offsets))
			}
		})
	}
}

// TestSyntheticZipf checks that the Markov chain's unigram frequencies are
// roughly Zipfian and that random sequences are roughly uniform.
func TestSyntheticZipf(t *testing.T) {
	for _, s := range []float64{1, 1.5} {
		src, err := NewSynthetic(SyntheticConfig{RandomFraction: Float(0), ZipfExponent: Float(s)}, 1)
		if err != nil {
			t.Fatal(err)
		}
		freq := tokenFreq(t, src)
		// Least-squares slope of log frequency on log rank (ids are ranks).
		var sx, sy, sxx, sxy, n float64
		for id := 1; id < len(freq); id++ {
			if freq[id] == 0 {
				continue
			}
			x, y := math.Log(float64(id)), math.Log(freq[id])
			sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+x*x, sxy+x*y, n+1
		}
		slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
		if slope > -0.7*s || slope < -1.3*s {
			t.Errorf("zipf_exponent %g: log-log slope of unigram frequencies %.2f, want about %g", s, slope, -s)
		}
		if tv := totalVariation(freq, src.Unigram()); tv > 0.03 {
			t.Errorf("zipf_exponent %g: total variation from the stationary distribution %.3f > 0.03", s, tv)
		}
		t.Logf("zipf_exponent %g: slope %.2f, conditional entropy %.2f nats", s, slope, condEntropy(src))
	}

	src, _ := NewSynthetic(SyntheticConfig{RandomFraction: Float(1)}, 1)
	freq := tokenFreq(t, src)
	uniform := make([]float64, len(freq))
	for id := 1; id < len(uniform); id++ {
		uniform[id] = 1 / float64(len(uniform)-1)
	}
	if tv := totalVariation(freq, uniform); tv > 0.05 {
		t.Errorf("random_fraction 1: total variation from uniform %.3f > 0.05", tv)
	}
}

func TestSyntheticRandomFraction(t *testing.T) {
	// With Successors 1 a Markov sequence is deterministic between copies,
	// so it is easy to tell from a random one.
	src, _ := NewSynthetic(SyntheticConfig{Successors: 1, Vocab: 64}, 1)
	b := NewBatch(2000, 64)
	if err := src.Next(b); err != nil {
		t.Fatal(err)
	}
	markov := 0
	for i := range b.B {
		row := b.Row(i)
		follows := 0
		for p := 2; p < len(row); p++ {
			a := src.rank[row[p-1]]
			if src.toks[src.succ[a][0]] == row[p] {
				follows++
			}
		}
		if follows >= len(row)-4 {
			markov++
		}
	}
	if share := float64(markov) / float64(b.B); math.Abs(share-0.5) > 0.05 {
		t.Errorf("share of Markov sequences %.3f, want about 0.5", share)
	}
}

func tokenFreq(t *testing.T, src *Synthetic) []float64 {
	t.Helper()
	b := NewBatch(2000, 64)
	if err := src.Next(b); err != nil {
		t.Fatal(err)
	}
	freq := make([]float64, src.Vocab())
	total := 0.0
	for i := range b.B {
		row := b.Row(i)
		copied := make([]bool, len(row))
		for _, sp := range b.Spans[i] {
			for j := range sp.Len {
				copied[sp.Dst+j] = true
			}
		}
		for p := 1; p < len(row); p++ {
			if !copied[p] {
				freq[row[p]]++
				total++
			}
		}
	}
	for i := range freq {
		freq[i] /= total
	}
	return freq
}

func totalVariation(p, q []float64) float64 {
	d := 0.0
	for i := range p {
		d += math.Abs(p[i] - q[i])
	}
	return d / 2
}

// condEntropy is the chain's entropy rate.
func condEntropy(s *Synthetic) float64 {
	u := s.Unigram()
	h := 0.0
	for a, cum := range s.cum {
		prev := 0.0
		for _, c := range cum {
			if p := c - prev; p > 0 {
				h -= u[s.toks[a]] * p * math.Log(p)
			}
			prev = c
		}
	}
	return h
}

func TestSyntheticErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  SyntheticConfig
		want string
	}{
		{"tiny vocab", SyntheticConfig{Vocab: 2, Successors: 1}, "vocab must be at least 3"},
		{"bos out of range", SyntheticConfig{BOS: 128}, "bos 128"},
		{"fraction", SyntheticConfig{RandomFraction: Float(1.5)}, "random_fraction"},
		{"zipf", SyntheticConfig{ZipfExponent: Float(-1)}, "zipf_exponent"},
		{"successors", SyntheticConfig{Successors: 200}, "successors"},
		{"spans", SyntheticConfig{Spans: -1}, "spans must be at least 1"},
		{"span range", SyntheticConfig{MinSpan: 30, MaxSpan: 20}, "min_span"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSynthetic(tt.cfg, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	s, _ := NewSynthetic(SyntheticConfig{}, 1)
	if err := s.Next(NewBatch(1, 57)); err == nil || !strings.Contains(err.Error(), "need at least 58") {
		t.Errorf("context 57: got %v, want a too-short error", err)
	}
}

func TestSyntheticLanguageSeed(t *testing.T) {
	a, _ := NewSynthetic(SyntheticConfig{}, 1)
	b, _ := NewSynthetic(SyntheticConfig{}, 2)
	c, _ := NewSynthetic(SyntheticConfig{LanguageSeed: 9}, 1)
	same := func(x, y *Synthetic) bool {
		for i := range x.succ {
			for j := range x.succ[i] {
				if x.succ[i][j] != y.succ[i][j] {
					return false
				}
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("stream seeds changed the language")
	}
	if same(a, c) {
		t.Error("language_seed did not change the language")
	}
}

// TestSyntheticUniformChain: zipf_exponent 0 gives every token's successors
// equal weight, so the chain's conditional entropy is exactly ln(successors)
// and its unigram distribution is close to uniform.
func TestSyntheticUniformChain(t *testing.T) {
	src, err := NewSynthetic(SyntheticConfig{RandomFraction: Float(0), ZipfExponent: Float(0), Successors: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if h := condEntropy(src); math.Abs(h-math.Log(32)) > 1e-9 {
		t.Errorf("conditional entropy %.6f nats, want ln 32 = %.6f", h, math.Log(32))
	}
	freq := tokenFreq(t, src)
	uniform := make([]float64, len(freq))
	for id := 1; id < len(freq); id++ {
		uniform[id] = 1 / float64(len(freq)-1)
	}
	if tv := totalVariation(freq, uniform); tv > 0.1 {
		t.Errorf("unigram frequencies are %.3f (total variation) from uniform, want < 0.1", tv)
	}
}
