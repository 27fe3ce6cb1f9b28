package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// promptTokens turns a command's --tokens or --text value into sequences of
// token ids for model m (loaded from dir), checked against its vocabulary and
// context. Every command that takes a prompt goes through here, so that a
// model directory's own tokenizer applies everywhere at once. tok is nil when
// the prompt came as ids and no tokenizer applies.
func promptTokens(m *models.Model, dir, tokens, text string) (seqs [][]int, tok tokenizer.Tokenizer, err error) {
	switch {
	case tokens != "" && text != "":
		return nil, nil, errors.New("give --tokens or --text, not both")
	case text != "":
		if tok, err = tokenizerFor(m); err != nil {
			return nil, nil, err
		}
		seqs = [][]int{tok.Encode(text)}
	case tokens != "":
		if seqs, err = parseTokens(tokens); err != nil {
			return nil, nil, err
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

// tokenizerFor returns the tokenizer a model directory can use: for now the
// byte-level one, when the vocabulary is large enough to hold bytes.
func tokenizerFor(m *models.Model) (tokenizer.Tokenizer, error) {
	t := tokenizer.Byte{}
	if m.Config.DVocab < t.VocabSize() {
		return nil, fmt.Errorf("--text needs a model whose vocabulary holds the %d byte-level tokens; this one has %d: use --tokens", t.VocabSize(), m.Config.DVocab)
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
