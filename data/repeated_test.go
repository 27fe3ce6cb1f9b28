package data

import (
	"slices"
	"strings"
	"testing"
)

func TestRepeated(t *testing.T) {
	tests := []struct {
		name    string
		cfg     RepeatedConfig
		T       int
		allowed func(id int) bool
	}{
		{"defaults", RepeatedConfig{}, 64, func(id int) bool { return id != 0 }},
		{"no bos", RepeatedConfig{NoBOS: true, Len: 10}, 40, func(id int) bool { return true }},
		{"range and exclude", RepeatedConfig{Vocab: 300, BOS: 256, MinToken: 32, MaxToken: 127, Exclude: []int{40, 41}, Len: 7, MaxLen: 15},
			64, func(id int) bool { return id >= 32 && id < 127 && id != 40 && id != 41 }},
		{"distinct", RepeatedConfig{Vocab: 30, Len: 20, Distinct: true}, 64, func(id int) bool { return id != 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewRepeated(tt.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			c := s.Config()
			b := NewBatch(200, tt.T)
			if err := s.Next(b); err != nil {
				t.Fatal(err)
			}
			checkIDs(t, b, c.Vocab)
			start := 1
			if c.NoBOS {
				start = 0
			}
			lens := map[int]bool{}
			for i := range b.B {
				row := b.Row(i)
				if start == 1 && row[0] != c.BOS {
					t.Fatalf("row %d starts with %d, not BOS", i, row[0])
				}
				for _, id := range row[start:] {
					if !tt.allowed(id) {
						t.Fatalf("row %d has disallowed token %d", i, id)
					}
				}
				spans := b.Spans[i]
				n := spans[0].Len
				lens[n] = true
				if n < c.Len || n > c.MaxLen {
					t.Fatalf("|r| = %d outside [%d, %d]", n, c.Len, c.MaxLen)
				}
				if want := (len(row) - start + n - 1) / n; len(spans) != want-1 {
					t.Fatalf("row %d: %d copies after r, want %d", i, len(spans), want-1)
				}
				checkSpans(t, row, spans, 1, c.MaxLen)
				if c.Distinct {
					r := slices.Clone(row[start : start+n])
					slices.Sort(r)
					if len(slices.Compact(r)) != n {
						t.Fatalf("row %d: r has repeated tokens with distinct set", i)
					}
				}
			}
			if want := c.MaxLen - c.Len + 1; len(lens) != want {
				t.Errorf("saw %d lengths of r, want %d", len(lens), want)
			}
		})
	}
}

func TestRepeatedBatch(t *testing.T) {
	cfg := RepeatedConfig{Vocab: 128, Len: 25, Repeats: 3, MinToken: 10, MaxToken: 100}
	b, err := RepeatedBatch(cfg, 16, 42)
	if err != nil {
		t.Fatal(err)
	}
	if b.B != 16 || b.T != 75 {
		t.Fatalf("shape B=%d T=%d, want 16, 75", b.B, b.T)
	}
	for i := range b.B {
		row := b.Row(i)
		r := row[1:26]
		if row[0] != 0 || !slices.Equal(row[26:51], r) || !slices.Equal(row[51:], r) {
			t.Fatalf("row %d is not [BOS] + r + r + r: %v", i, row)
		}
		if want := []Span{{1, 26, 25}, {26, 51, 25}}; !slices.Equal(b.Spans[i], want) {
			t.Fatalf("row %d spans %v, want %v", i, b.Spans[i], want)
		}
	}
	again, _ := RepeatedBatch(cfg, 16, 42)
	if !slices.Equal(b.Tokens, again.Tokens) {
		t.Error("RepeatedBatch is not deterministic")
	}
}

func TestRepeatedErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  RepeatedConfig
		want string
	}{
		{"negative len", RepeatedConfig{Len: -1}, "len must be positive"},
		{"max below len", RepeatedConfig{Len: 10, MaxLen: 5}, "max_len 5 is below len 10"},
		{"one repeat", RepeatedConfig{Repeats: 1}, "repeats must be at least 2"},
		{"bos outside", RepeatedConfig{BOS: 500}, "bos 500"},
		{"empty range", RepeatedConfig{MinToken: 50, MaxToken: 50}, "token range"},
		{"all excluded", RepeatedConfig{MinToken: 0, MaxToken: 2, Exclude: []int{1}}, "is empty"},
		{"too few for distinct", RepeatedConfig{Vocab: 10, Len: 20, Distinct: true}, "distinct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRepeated(tt.cfg, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	s, _ := NewRepeated(RepeatedConfig{Len: 30}, 1)
	if err := s.Next(NewBatch(2, 50)); err == nil || !strings.Contains(err.Error(), "two copies") {
		t.Errorf("short row: got %v, want an error", err)
	}
}

func TestSyntheticEvalRepeated(t *testing.T) {
	cfg := SyntheticConfig{}.EvalRepeated(20, 2)
	if cfg.MinToken != 13 || cfg.MaxToken != 116 || cfg.BOS != 0 || cfg.Vocab != 128 {
		t.Errorf("EvalRepeated = %+v", cfg)
	}
	if _, err := RepeatedBatch(cfg, 4, 1); err != nil {
		t.Error(err)
	}
}
