package main

import (
	"errors"
	"fmt"

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
			return nil, nil, fmt.Errorf("--text: %w (--tokens takes ids)", err)
		}
		seqs = [][]int{tokenizer.EncodeSpecial(tok, text)}
	case tokens != "":
		if seqs, err = tokenizer.ParseIDs(tokens); err != nil {
			return nil, nil, fmt.Errorf("--tokens: %w", err)
		}
		if tokenizer.Has(dir) {
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

// tokenizerIn returns the tokenizer of a model directory (tokenizer.ForDir).
func tokenizerIn(m *models.Model, dir string) (tokenizer.Tokenizer, error) {
	return tokenizer.ForDir(dir, m.Config.DVocab, models.WrittenByMechinterp(dir))
}
