package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIDs(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"1,2,3", "[[1 2 3]]", ""},
		{" 1, 2 ;3,4 ", "[[1 2] [3 4]]", ""},
		{"1,x", "", `"x" is not a token id`},
		{"1;", "", "sequence 1 is empty"},
		{"1,2;3", "", "sequence 1 has 1 tokens, sequence 0 has 2"},
	} {
		got, err := ParseIDs(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseIDs(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("ParseIDs(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestForDir(t *testing.T) {
	empty := t.TempDir()
	withJSON := t.TempDir()
	if err := os.WriteFile(filepath.Join(withJSON, "tokenizer.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err := ForDir(empty, 300, true); err != nil || tok.VocabSize() != 257 {
		t.Errorf("a mechinterp checkpoint without BPE files: %v, %v; want the byte-level tokenizer", tok, err)
	}
	for _, tt := range []struct {
		dir   string
		vocab int
		ours  bool
		want  string
	}{
		{empty, 300, false, "add them, or give token ids"},
		{withJSON, 300, false, `unsupported model type ""`},
		{empty, 20, true, "holds the 257 byte-level tokens"},
	} {
		if _, err := ForDir(tt.dir, tt.vocab, tt.ours); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ForDir(vocab %d, ours %v): error %v, want %q", tt.vocab, tt.ours, err, tt.want)
		}
	}
}

// TestForDirJSON: a directory with tokenizer.json alone gets it; one with
// vocab.json and merges.txt as well keeps GPT-2's BPE.
func TestForDirJSON(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "tokenizer_json", "llama2")
	tok, err := ForDir(dir, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*HF); !ok {
		t.Fatalf("ForDir gave %T, want *HF", tok)
	}
	if ids := EncodeSpecial(tok, "Hello"); len(ids) == 0 || ids[0] != tok.BOS() {
		t.Errorf("EncodeSpecial(Hello) = %v: want Llama's <s> first", ids)
	}
	if _, err := ForDir(dir, 100, false); err == nil || !strings.Contains(err.Error(), "442 tokens but the model's vocabulary holds 100") {
		t.Errorf("small vocabulary: %v", err)
	}
}
