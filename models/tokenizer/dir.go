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
// directory does), else, for a checkpoint written by mechinterp (ours), the byte-level one. A
// directory from elsewhere without tokenizer files is an error: its ids are its own
// tokenizer's, and bytes would be read as the wrong tokens without a word of warning. The
// BPE's ids must fit the vocabulary (GPT-2's 50257 tokens fit its 50257 rows). A directory's
// BPE is parsed once per version of its files, so a server tokenizing every request does not
// parse GPT-2's 50,000 merges each time. Its errors name no command-line flag, as they are
// shown in the attention explorer's page too; the CLI adds its flags' names.
func ForDir(dir string, vocab int, ours bool) (Tokenizer, error) {
	if !HasBPE(dir) {
		if !ours {
			hint := ""
			if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
				hint = " (tokenizer.json alone is not read)"
			}
			return nil, fmt.Errorf("text needs the model's tokenizer: %s has no %s and %s%s; add them, or give token ids", dir, VocabFile, MergesFile, hint)
		}
		if t := (Byte{}); vocab < t.VocabSize() {
			return nil, fmt.Errorf("text needs a model whose vocabulary holds the %d byte-level tokens, or a directory with vocab.json and merges.txt; this one has %d tokens: give token ids", t.VocabSize(), vocab)
		}
		return Byte{}, nil
	}
	t, err := loadBPECached(dir)
	if err != nil {
		return nil, err
	}
	if t.VocabSize() > vocab {
		return nil, fmt.Errorf("tokenizer in %s has %d tokens but the model's vocabulary holds %d (vocab_size in config.json)", dir, t.VocabSize(), vocab)
	}
	return t, nil
}

var (
	bpeMu    sync.Mutex
	bpeCache = map[string]bpeEntry{}
)

type bpeEntry struct {
	stamp string
	tok   *BPE
}

// loadBPECached loads a directory's BPE once per version (size and time) of its files.
func loadBPECached(dir string) (*BPE, error) {
	var stamp strings.Builder
	for _, f := range []string{VocabFile, MergesFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			fmt.Fprintf(&stamp, "%d.%d;", st.Size(), st.ModTime().UnixNano())
		}
	}
	key, err := filepath.Abs(dir)
	if err != nil {
		key = dir
	}
	bpeMu.Lock()
	e, ok := bpeCache[key]
	bpeMu.Unlock()
	if ok && e.stamp == stamp.String() {
		return e.tok, nil
	}
	t, err := LoadBPE(dir)
	if err != nil {
		return nil, err
	}
	bpeMu.Lock()
	bpeCache[key] = bpeEntry{stamp.String(), t}
	bpeMu.Unlock()
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
