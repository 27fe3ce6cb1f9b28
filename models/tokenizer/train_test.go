package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTrainMatchesReference trains on testdata/bpe_train/corpus.txt and
// expects exactly the vocabulary and merges that the naive Python trainer
// of testdata/bpe_train/gen.py wrote, written from the rule's definition.
func TestTrainMatchesReference(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "bpe_train")
	corpus, err := os.ReadFile(filepath.Join(dir, "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, VocabFile))
	if err != nil {
		t.Fatal(err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(raw, &vocab); err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(vocab))
	for tok, id := range vocab {
		want[id] = tok
	}
	f, err := os.Open(filepath.Join(dir, MergesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wantMerges [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if a, b, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(sc.Text(), "#") {
			wantMerges = append(wantMerges, [2]string{a, b})
		}
	}
	tr := NewTrainer()
	tr.Add(string(corpus))
	got, err := tr.Train(len(want))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tokens, want) {
		for i := range min(len(got.Tokens), len(want)) {
			if got.Tokens[i] != want[i] {
				t.Fatalf("token %d is %q, the reference's %q (%d and %d tokens)", i, got.Tokens[i], want[i], len(got.Tokens), len(want))
			}
		}
		t.Fatalf("%d tokens, the reference has %d", len(got.Tokens), len(want))
	}
	if !slices.Equal(got.Merges, wantMerges) {
		t.Fatalf("merges differ from the reference's (%d and %d)", len(got.Merges), len(wantMerges))
	}
}

// TestTrainSaveLoad checks that a trained tokenizer saves as GPT-2's files,
// loads with LoadBPE, round-trips any text and compresses its corpus.
func TestTrainSaveLoad(t *testing.T) {
	text := strings.Repeat("func (s *Server) Serve(l net.Listener) error { return s.serve(l) }\n// Serve accepts connections.\n", 50)
	tr := NewTrainer()
	tr.Add(text)
	trained, err := tr.Train(300)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bpe, err := trained.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bpe.VocabSize() != 300 || bpe.EndOfText() != 299 || bpe.NumMerges() != 300-257 {
		t.Errorf("vocab %d, eot %d, merges %d", bpe.VocabSize(), bpe.EndOfText(), bpe.NumMerges())
	}
	for _, s := range []string{text, "héllo, wörld 日本語 \x00\xff", "", "  spaces\t\n"} {
		if got := bpe.Decode(bpe.Encode(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
	if n := len(bpe.Encode(text)); n*2 > len(text) {
		t.Errorf("%d tokens for %d bytes of its own corpus: expected over 2 bytes a token", n, len(text))
	}
	// Ids 0-255 are GPT-2's byte tokens: "!" is 0 and "Ġ" (a space) 220.
	if id, _ := bpe.ID("!"); id != 0 {
		t.Errorf(`"!" has id %d, want 0`, id)
	}
	if id, _ := bpe.ID("Ġ"); id != 220 {
		t.Errorf(`"Ġ" has id %d, want 220 as in GPT-2`, id)
	}
	// ForDir reads it as a model directory's tokenizer.
	if tok, err := ForDir(dir, 300, true); err != nil || tok.VocabSize() != 300 {
		t.Errorf("ForDir: %v", err)
	}
}

func TestTrainStopsWithoutPairs(t *testing.T) {
	tr := NewTrainer()
	tr.Add("ab ab")
	got, err := tr.Train(4096)
	if err != nil {
		t.Fatal(err)
	}
	// Chunks "ab" and " ab": a+b is seen twice and merged; then Ġ+ab is
	// seen once, under the minimum frequency 2, and training stops.
	if len(got.Merges) != 1 || len(got.Tokens) != 258 {
		t.Errorf("merges %v, %d tokens", got.Merges, len(got.Tokens))
	}
	if _, err := NewTrainer().Train(100); err == nil {
		t.Error("vocab 100: no error")
	}
}
