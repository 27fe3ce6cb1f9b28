package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkIDs fails the test if any token of b is outside [0, vocab).
func checkIDs(t *testing.T, b *Batch, vocab int) {
	t.Helper()
	for i, id := range b.Tokens {
		if id < 0 || id >= vocab {
			t.Fatalf("token %d at flat position %d is outside [0, %d)", id, i, vocab)
		}
	}
}

// writeFiles creates files (relative path -> content) under a temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sources builds one source of every kind for the shared tests.
func sources(t *testing.T, seed uint64) map[string]Indexed {
	t.Helper()
	dir := writeFiles(t, map[string]string{
		"a.txt":       strings.Repeat("the quick brown fox jumps over the lazy dog. ", 20),
		"b/c.jsonl":   `{"text": "hello 👋 world"}` + "\n" + `{"text": "second document", "id": 2}` + "\n",
		"b/d.md":      "# notes\n\ninduction heads copy.\n",
		".hidden/x.t": "never read",
	})
	out := map[string]Indexed{}
	for _, c := range []Config{
		{Kind: KindRepeated, Seed: seed, Repeated: RepeatedConfig{Len: 8, MaxLen: 12}},
		{Kind: KindSynthetic, Seed: seed},
		{Kind: KindSynthetic, Seed: seed, Synthetic: SyntheticConfig{Spans: 2, MinSpan: 3, MaxSpan: 8, Vocab: 50, BOS: 7}},
		{Kind: KindText, Seed: seed, Text: TextConfig{Paths: []string{dir}}},
	} {
		s, err := New(c)
		if err != nil {
			t.Fatalf("New(%+v): %v", c, err)
		}
		name := c.Kind
		if _, dup := out[name]; dup {
			name += "2"
		}
		out[name] = s
	}
	return out
}

func TestNextDeterministicAndValid(t *testing.T) {
	a, b, c := sources(t, 1), sources(t, 1), sources(t, 2)
	for name := range a {
		t.Run(name, func(t *testing.T) {
			ba, bb, bc := NewBatch(8, 64), NewBatch(8, 64), NewBatch(8, 64)
			for range 3 {
				for _, p := range []struct {
					s Source
					b *Batch
				}{{a[name], ba}, {b[name], bb}, {c[name], bc}} {
					if err := p.s.Next(p.b); err != nil {
						t.Fatal(err)
					}
					checkIDs(t, p.b, p.s.Vocab())
				}
				if !slices.Equal(ba.Tokens, bb.Tokens) {
					t.Fatal("same seed gave different batches")
				}
				if slices.Equal(ba.Tokens, bc.Tokens) {
					t.Fatal("different seeds gave the same batch")
				}
			}
		})
	}
}

func TestResumeExact(t *testing.T) {
	const k = 5
	for name, ref := range sources(t, 7) {
		t.Run(name, func(t *testing.T) {
			fresh := sources(t, 7)[name]
			b := NewBatch(4, 64)
			for range k {
				if err := ref.Next(b); err != nil {
					t.Fatal(err)
				}
			}
			state, err := ref.State()
			if err != nil {
				t.Fatal(err)
			}
			if err := fresh.Restore(state); err != nil {
				t.Fatal(err)
			}
			for step := range 3 {
				want, got := NewBatch(4, 64), NewBatch(4, 64)
				if err := ref.Next(want); err != nil {
					t.Fatal(err)
				}
				if err := fresh.Next(got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(want.Tokens, got.Tokens) {
					t.Fatalf("batch %d after resume differs", k+step)
				}
				if !slices.EqualFunc(want.Spans, got.Spans, slices.Equal) {
					t.Fatalf("spans of batch %d after resume differ", k+step)
				}
			}
		})
	}
}

func TestBatchSizeIndependence(t *testing.T) {
	// Two batches of 4 equal one batch of 8: the stream is a stream of
	// sequences, not of batches.
	for name, s := range sources(t, 3) {
		t.Run(name, func(t *testing.T) {
			other := sources(t, 3)[name]
			big := NewBatch(8, 64)
			if err := s.Next(big); err != nil {
				t.Fatal(err)
			}
			var got []int
			for range 2 {
				small := NewBatch(4, 64)
				if err := other.Next(small); err != nil {
					t.Fatal(err)
				}
				got = append(got, small.Tokens...)
			}
			if !slices.Equal(big.Tokens, got) {
				t.Fatal("2 batches of 4 differ from 1 batch of 8")
			}
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	srcs := sources(t, 1)
	synState, _ := srcs["synthetic"].State()
	other, _ := NewSynthetic(SyntheticConfig{}, 2)
	otherCfg, _ := NewSynthetic(SyntheticConfig{MaxSpan: 20}, 1)
	tests := []struct {
		name  string
		into  Source
		state []byte
		want  string
	}{
		{"garbage", srcs["synthetic"], []byte("not json"), "restoring state"},
		{"other kind", srcs["repeated"], synState, `"synthetic" source`},
		{"other seed", other, synState, "seed 1 into a source with seed 2"},
		{"other config", otherCfg, synState, "differently configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.into.Restore(tt.state)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestBatchInputsTargets(t *testing.T) {
	b := &Batch{B: 2, T: 3, Tokens: []int{0, 1, 2, 3, 10, 11, 12, 13}}
	if got, want := b.Inputs(), []int{0, 1, 2, 10, 11, 12}; !slices.Equal(got, want) {
		t.Errorf("Inputs() = %v, want %v", got, want)
	}
	if got, want := b.Targets(), []int{1, 2, 3, 11, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("Targets() = %v, want %v", got, want)
	}
}

func TestBatchShapeErrors(t *testing.T) {
	s, _ := NewSynthetic(SyntheticConfig{}, 1)
	for _, b := range []*Batch{{B: 0, T: 64}, {B: 2, T: 0}} {
		if err := s.Next(b); err == nil || !strings.Contains(err.Error(), "batch shape") {
			t.Errorf("Next(B=%d, T=%d): got %v, want a batch shape error", b.B, b.T, err)
		}
	}
	// A batch without storage is allocated.
	b := &Batch{B: 2, T: 64}
	if err := s.Next(b); err != nil || len(b.Tokens) != 2*65 {
		t.Errorf("Next on an empty batch: err %v, %d tokens", err, len(b.Tokens))
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		vocab   int
	}{
		{"default is synthetic", Config{}, "", 128},
		{"repeated", Config{Kind: KindRepeated, Repeated: RepeatedConfig{Vocab: 300}}, "", 300},
		{"unknown kind", Config{Kind: "wiki"}, `kind "wiki"`, 0},
		{"bad synthetic", Config{Synthetic: SyntheticConfig{MinSpan: 5, MaxSpan: 3}}, "min_span", 0},
		{"text without paths", Config{Kind: KindText}, "paths is empty", 0},
		{"text bad format", Config{Kind: KindText, Text: TextConfig{Paths: []string{"x"}, Format: "csv"}}, `format "csv"`, 0},
		{"text bad tokenizer", Config{Kind: KindText, Text: TextConfig{Paths: []string{"x"}, Tokenizer: "gpt2"}}, `tokenizer "gpt2"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := tt.cfg.WithDefaults().Validate()
			s, err := New(tt.cfg)
			if tt.wantErr == "" {
				if verr != nil || err != nil {
					t.Fatalf("Validate: %v, New: %v", verr, err)
				}
				if s.Vocab() != tt.vocab {
					t.Errorf("Vocab() = %d, want %d", s.Vocab(), tt.vocab)
				}
				return
			}
			if verr == nil || !strings.Contains(verr.Error(), tt.wantErr) {
				t.Errorf("Validate: got %v, want an error containing %q", verr, tt.wantErr)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
