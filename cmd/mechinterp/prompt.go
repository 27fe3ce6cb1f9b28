package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// promptTokens turns a command's --tokens or --text value into sequences of
// token ids for model m (loaded from dir), checked against its vocabulary and
// context. Every command that takes a prompt goes through here, so that a
// model directory's own tokenizer applies everywhere at once: --text is
// encoded with it, reading "<|endoftext|>" as the special token (GPT-2's
// beginning-of-sequence token), as Hugging Face's tokenizer does. tok is the
// tokenizer that applies, for labelling ids (nil when the prompt came as ids
// and the directory has no tokenizer of its own).
func promptTokens(m *models.Model, dir, tokens, text string) (seqs [][]int, tok tokenizer.Tokenizer, err error) {
	switch {
	case tokens != "" && text != "":
		return nil, nil, errors.New("give --tokens or --text, not both")
	case text != "":
		if tok, err = tokenizerIn(m, dir); err != nil {
			return nil, nil, err
		}
		seqs = [][]int{tokenizer.EncodeSpecial(tok, text)}
	case tokens != "":
		if seqs, err = parseTokens(tokens); err != nil {
			return nil, nil, err
		}
		if tokenizer.HasBPE(dir) {
			if tok, err = tokenizerIn(m, dir); err != nil {
				return nil, nil, err
			}
		}
	default:
		return nil, nil, errors.New("give the prompt with --tokens or --text")
	}
	for _, s := range seqs {
		if err := m.CheckTokens(s, 1, len(s)); err != nil {
			return nil, nil, err
		}
	}
	return seqs, tok, nil
}

// tokenizerIn returns the tokenizer of a model directory: GPT-2's BPE when
// the directory holds vocab.json and merges.txt (as a Hugging Face GPT-2
// directory does), else, for a checkpoint saved by mechinterp, the
// byte-level one of tokenizerFor. A directory from elsewhere without
// tokenizer files is an error. The BPE's ids
// must fit the model's vocabulary (GPT-2's 50257 tokens fit its 50257 rows).
func tokenizerIn(m *models.Model, dir string) (tokenizer.Tokenizer, error) {
	if !tokenizer.HasBPE(dir) {
		if !models.WrittenByMechinterp(dir) {
			// A downloaded model's ids are its own tokenizer's: bytes would
			// be read as the wrong tokens without a word of warning.
			hint := ""
			if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
				hint = " (tokenizer.json alone is not read)"
			}
			return nil, fmt.Errorf("--text needs the model's tokenizer: %s has no %s and %s%s; add them, or use --tokens", dir, tokenizer.VocabFile, tokenizer.MergesFile, hint)
		}
		return tokenizerFor(m)
	}
	t, err := loadBPECached(dir)
	if err != nil {
		return nil, err
	}
	if t.VocabSize() > m.Config.DVocab {
		return nil, fmt.Errorf("tokenizer in %s has %d tokens but the model's vocabulary holds %d (vocab_size in %s)", dir, t.VocabSize(), m.Config.DVocab, models.ConfigFile)
	}
	return t, nil
}

var (
	bpeMu    sync.Mutex
	bpeCache = map[string]bpeEntry{}
)

type bpeEntry struct {
	stamp string
	tok   *tokenizer.BPE
}

// loadBPECached loads a directory's BPE once per version of its files, so
// that a server tokenizing every request does not parse GPT-2's 50,000
// merges each time.
func loadBPECached(dir string) (*tokenizer.BPE, error) {
	var stamp strings.Builder
	for _, f := range []string{tokenizer.VocabFile, tokenizer.MergesFile} {
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
	t, err := tokenizer.LoadBPE(dir)
	if err != nil {
		return nil, err
	}
	bpeMu.Lock()
	bpeCache[key] = bpeEntry{stamp.String(), t}
	bpeMu.Unlock()
	return t, nil
}

// tokenizerFor returns the byte-level tokenizer, for a model directory
// without a tokenizer of its own, when the vocabulary is large enough to
// hold bytes. Use tokenizerIn when the directory is known.
func tokenizerFor(m *models.Model) (tokenizer.Tokenizer, error) {
	t := tokenizer.Byte{}
	if m.Config.DVocab < t.VocabSize() {
		return nil, fmt.Errorf("--text needs a model whose vocabulary holds the %d byte-level tokens, or a directory with vocab.json and merges.txt; this one has %d tokens: use --tokens", t.VocabSize(), m.Config.DVocab)
	}
	return t, nil
}

// parseTokens reads "1,2,3;4,5,6" into equal-length sequences.
func parseTokens(s string) ([][]int, error) {
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
				return nil, fmt.Errorf("--tokens: %q is not a token id", f)
			}
			seq = append(seq, n)
		}
		if len(seq) == 0 {
			return nil, fmt.Errorf("--tokens: sequence %d is empty", i)
		}
		if len(seqs) > 0 && len(seq) != len(seqs[0]) {
			return nil, fmt.Errorf("--tokens: sequence %d has %d tokens, sequence 0 has %d; sequences must be equally long", i, len(seq), len(seqs[0]))
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}
