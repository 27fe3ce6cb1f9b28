package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

const eot = "<|endoftext|>"

// windows decodes every row of a few batches of s.
func windows(t *testing.T, s *Text, T int) []string {
	t.Helper()
	var out []string
	b := NewBatch(16, T)
	for range 4 {
		if err := s.Next(b); err != nil {
			t.Fatal(err)
		}
		checkIDs(t, b, s.Vocab())
		for i := range b.B {
			out = append(out, s.Tokenizer().Decode(b.Row(i)))
		}
	}
	return out
}

func TestText(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b.txt":          "bravo bravo bravo bravo",
		"a/z.txt":        "alpha 👀 alpha alpha",
		"a/empty.txt":    "",
		"a/skip.bin":     "skipped by extension",
		".git/HEAD":      "hidden",
		"docs.jsonl":     `{"text": "json one"}` + "\n\n" + `{"body": "other field", "text": "json two ✓"}` + "\n",
		"custom.ndjson":  `{"body": "in body"}` + "\n",
		"single/one.txt": "only file",
	})
	tests := []struct {
		name   string
		cfg    TextConfig
		corpus string
		T      int
	}{
		{"directory", TextConfig{Paths: []string{dir}, Extensions: []string{".txt", ".jsonl"}},
			"alpha 👀 alpha alpha" + eot + "bravo bravo bravo bravo" + eot + "json one" + eot + "json two ✓" + eot + "only file" + eot, 20},
		{"single file", TextConfig{Paths: []string{filepath.Join(dir, "b.txt")}}, "bravo bravo bravo bravo" + eot, 10},
		{"jsonl field", TextConfig{Paths: []string{filepath.Join(dir, "custom.ndjson")}, Field: "body"}, "in body" + eot, 5},
		{"jsonl as text", TextConfig{Paths: []string{filepath.Join(dir, "custom.ndjson")}, Format: FormatText},
			`{"body": "in body"}` + "\n" + eot, 8},
		{"text forced to jsonl", TextConfig{Paths: []string{filepath.Join(dir, "docs.jsonl")}, Format: FormatJSONL},
			"json one" + eot + "json two ✓" + eot, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewText(tt.cfg, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Tokens(), int64(len(tt.corpus)-strings.Count(tt.corpus, eot)*(len(eot)-1)); got != want {
				t.Errorf("Tokens() = %d, want %d", got, want)
			}
			starts := map[int]bool{}
			for _, w := range windows(t, s, tt.T) {
				i := strings.Index(tt.corpus, w)
				if i < 0 {
					t.Fatalf("window %q is not in the corpus %q", w, tt.corpus)
				}
				starts[i] = true
			}
			if len(starts) < 2 {
				t.Errorf("all windows start at the same place")
			}
		})
	}
}

// TestTextInMemory uses a tokenizer other than Byte, so plain files are
// tokenized into memory; the windows must match the in-place reading.
func TestTextInMemory(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.txt": "first file, with some text", "b.txt": "second ✓"})
	inPlace, err := NewText(TextConfig{Paths: []string{dir}}, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	inMem, err := NewText(TextConfig{Paths: []string{dir}}, wrapped{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	a, b := windows(t, inPlace, 12), windows(t, inMem, 12)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("window %d: in place %q, in memory %q", i, a[i], b[i])
		}
	}
}

// wrapped is a tokenizer.Byte that NewText does not recognize as one.
type wrapped struct{ tokenizer.Byte }

func TestTextErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.jsonl":      `{"text": "ok"}` + "\n" + `{"text": "unterminated` + "\n",
		"nofield.jsonl":  `{"text": "ok"}` + "\n" + `{"title": "x"}` + "\n",
		"notstr.jsonl":   `{"text": 3}` + "\n",
		"empty/a.txt":    "",
		"empty/b.jsonl":  "\n\n",
		"short.txt":      "tiny",
		"big.jsonl":      `{"text": "` + strings.Repeat("x", 100) + `"}` + "\n",
		"emptydir/.keep": "",
	})
	p := func(name string) []string { return []string{filepath.Join(dir, name)} }
	tests := []struct {
		name string
		cfg  TextConfig
		want string
	}{
		{"missing file", TextConfig{Paths: p("nope.txt")}, "nope.txt: no such file"},
		{"malformed jsonl", TextConfig{Paths: p("bad.jsonl")}, "bad.jsonl:2: malformed JSONL"},
		{"missing field", TextConfig{Paths: p("nofield.jsonl")}, `nofield.jsonl:2: no field "text"`},
		{"not a string", TextConfig{Paths: p("notstr.jsonl")}, `notstr.jsonl:1: field "text" is not a string`},
		{"empty corpus", TextConfig{Paths: p("empty")}, "no text in"},
		{"empty directory", TextConfig{Paths: p("emptydir")}, "no text in"},
		{"memory cap", TextConfig{Paths: p("big.jsonl"), MaxMemoryTokens: 50}, "max_memory_tokens (50)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewText(tt.cfg, nil, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}

	s, err := NewText(TextConfig{Paths: p("short.txt")}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Next(NewBatch(1, 8)); err == nil || !strings.Contains(err.Error(), "has 5 tokens, fewer than a window of 9") {
		t.Errorf("short corpus: got %v", err)
	}
	// A file that shrinks after NewText gives an error, not garbage.
	if err := os.WriteFile(filepath.Join(dir, "short.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Next(NewBatch(1, 3)); err == nil || !strings.Contains(err.Error(), "did it change") {
		t.Errorf("changed file: got %v", err)
	}
}

// TestTextSequential checks order sequential: window i is the corpus tokens
// [i·L, (i+1)·L), so windows never overlap (a mixture's unique sequences
// need that), and reading past the last window names how many there are.
func TestTextSequential(t *testing.T) {
	corpus := "alpha bravo charlie delta echo foxtrot golf"
	dir := writeFiles(t, map[string]string{"a.txt": corpus})
	// corpus + end-of-text: 44 tokens.
	tests := []struct {
		L       int
		windows int64
	}{{1, 44}, {5, 8}, {11, 4}, {44, 1}, {45, 0}}
	for _, tt := range tests {
		t.Run(fmt.Sprint("L=", tt.L), func(t *testing.T) {
			s, err := NewText(TextConfig{Paths: []string{dir}, Order: OrderSequential}, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Windows(tt.L); got != tt.windows {
				t.Fatalf("Windows(%d) = %d, want %d", tt.L, got, tt.windows)
			}
			toks := s.Tokenizer().Encode(corpus)
			toks = append(toks, s.Tokenizer().EndOfText())
			row := make([]int, tt.L)
			for i := range tt.windows {
				if _, err := s.Sequence(uint64(i), row); err != nil {
					t.Fatal(err)
				}
				if want := toks[i*int64(tt.L) : (i+1)*int64(tt.L)]; !slices.Equal(row, want) {
					t.Fatalf("window %d = %v, want %v", i, row, want)
				}
			}
			_, err = s.Sequence(uint64(tt.windows), row)
			want := fmt.Sprintf("holds %d windows of %d", tt.windows, tt.L)
			if tt.L > len(toks) {
				want = "fewer than a window"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("past the end: got %v, want an error containing %q", err, want)
			}
		})
	}

	// Orders differ in the fingerprint: a state does not cross over.
	rnd, err := NewText(TextConfig{Paths: []string{dir}}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rnd.Config().Order != OrderRandom {
		t.Errorf("default order %q, want random", rnd.Config().Order)
	}
	seq, err := NewText(TextConfig{Paths: []string{dir}, Order: OrderSequential}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := rnd.State()
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Restore(st); err == nil {
		t.Error("a random-order state restored into a sequential source")
	}
	if _, err := NewText(TextConfig{Paths: []string{dir}, Order: "shuffled"}, nil, 1); err == nil || !strings.Contains(err.Error(), `order "shuffled" is not one of random, sequential`) {
		t.Errorf("bad order: got %v", err)
	}
}
