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
		if seqs, tok, err = readPrompt(m, dir, text, false); err != nil {
			return nil, nil, fmt.Errorf("--text: %w (--tokens takes ids)", err)
		}
	case tokens != "":
		if seqs, tok, err = readPrompt(m, dir, tokens, true); err != nil {
			return nil, nil, fmt.Errorf("--tokens: %w", err)
		}
	default:
		return nil, nil, errors.New("give the prompt with --tokens or --text")
	}
	return seqs, tok, nil
}

// readPrompt is promptTokens for one prompt, given as ids ("1,2,3;4,5,6") or as
// text, with errors that name no flag: the explorer's page shows them too, and each
// command names its own flags.
func readPrompt(m *models.Model, dir, prompt string, ids bool) (seqs [][]int, tok tokenizer.Tokenizer, err error) {
	if ids {
		if seqs, err = tokenizer.ParseIDs(prompt); err != nil {
			return nil, nil, err
		}
		if tokenizer.Has(dir) {
			if tok, err = tokenizerIn(m, dir); err != nil {
				return nil, nil, err
			}
		}
	} else {
		if tok, err = tokenizerIn(m, dir); err != nil {
			return nil, nil, err
		}
		seqs = [][]int{tokenizer.EncodeSpecial(tok, prompt)}
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
