package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ForDir returns the tokenizer of a model directory whose vocabulary holds vocab tokens:
// GPT-2's BPE when the directory holds vocab.json and merges.txt (as a Hugging Face GPT-2
// directory does), else the tokenizer.json of a GPT-NeoX, Llama, Qwen2 or Mistral directory
// ([LoadJSON]), else, for a checkpoint written by mechinterp (ours), the byte-level one. A
// directory from elsewhere without tokenizer files is an error: its ids are its own
// tokenizer's, and bytes would be read as the wrong tokens without a word of warning. The
// tokenizer's ids must fit the vocabulary (GPT-2's 50257 tokens fit its 50257 rows; Pythia's
// 50277 its 50304). A directory's tokenizer is parsed once per version of its files, so a
// server tokenizing every request does not parse 50,000 merges each time. Its errors name no
// command-line flag, as they are shown in the attention explorer's page too; the CLI adds its
// flags' names.
func ForDir(dir string, vocab int, ours bool) (Tokenizer, error) {
	var t Tokenizer
	switch {
	case HasBPE(dir):
		b, err := loadCached(dir, []string{VocabFile, MergesFile}, func() (Tokenizer, error) { return LoadBPE(dir) })
		if err != nil {
			return nil, err
		}
		t = b
	case HasJSON(dir):
		h, err := loadCached(dir, []string{JSONFile}, func() (Tokenizer, error) { return LoadJSON(dir) })
		if err != nil {
			return nil, err
		}
		t = h
	case !ours:
		return nil, fmt.Errorf("text needs the model's tokenizer: %s has no %s and %s, nor %s; add them, or give token ids", dir, VocabFile, MergesFile, JSONFile)
	default:
		if t := (Byte{}); vocab < t.VocabSize() {
			return nil, fmt.Errorf("text needs a model whose vocabulary holds the %d byte-level tokens, or a directory with tokenizer files; this one has %d tokens: give token ids", t.VocabSize(), vocab)
		}
		return Byte{}, nil
	}
	if t.VocabSize() > vocab {
		return nil, fmt.Errorf("tokenizer in %s has %d tokens but the model's vocabulary holds %d (vocab_size in config.json)", dir, t.VocabSize(), vocab)
	}
	return t, nil
}

// Has reports whether dir holds tokenizer files (vocab.json and merges.txt, or
// tokenizer.json).
func Has(dir string) bool { return HasBPE(dir) || HasJSON(dir) }

var (
	tokMu    sync.Mutex
	tokCache = map[string]tokEntry{}
)

type tokEntry struct {
	stamp string
	tok   Tokenizer
}

// loadCached loads a directory's tokenizer once per version (size and time) of its files.
func loadCached(dir string, files []string, load func() (Tokenizer, error)) (Tokenizer, error) {
	var stamp strings.Builder
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			fmt.Fprintf(&stamp, "%s.%d.%d;", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	key, err := filepath.Abs(dir)
	if err != nil {
		key = dir
	}
	tokMu.Lock()
	e, ok := tokCache[key]
	tokMu.Unlock()
	if ok && e.stamp == stamp.String() {
		return e.tok, nil
	}
	t, err := load()
	if err != nil {
		return nil, err
	}
	tokMu.Lock()
	tokCache[key] = tokEntry{stamp.String(), t}
	tokMu.Unlock()
	return t, nil
}

// ParseIDs reads token ids written as "1,2,3;4,5,6" (commas between ids, ';' between
// sequences) into sequences of equal length.
func ParseIDs(s string) ([][]int, error) {
	var seqs [][]int
	for i, part := range strings.Split(s, ";") {
		var seq []int
		for _, f := range strings.Split(part, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a token id", f)
			}
			seq = append(seq, n)
		}
		if len(seq) == 0 {
			return nil, fmt.Errorf("sequence %d is empty", i)
		}
		if len(seqs) > 0 && len(seq) != len(seqs[0]) {
			return nil, fmt.Errorf("sequence %d has %d tokens, sequence 0 has %d; sequences must be equally long", i, len(seq), len(seqs[0]))
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}
