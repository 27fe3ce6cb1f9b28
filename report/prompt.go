package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// PromptTokens turns a command's --tokens or --text value into sequences of
// token ids for model m (loaded from dir), checked against its vocabulary and
// context. Every command that takes a prompt goes through here, so that a
// model directory's own tokenizer applies everywhere at once: --text is
// encoded with it, reading "<|endoftext|>" as the special token (GPT-2's
// beginning-of-sequence token), as Hugging Face's tokenizer does. tok is the
// tokenizer that applies, for labelling ids (nil when the prompt came as ids
// and the directory has no tokenizer of its own).
func PromptTokens(m *models.Model, dir, tokens, text string) (seqs [][]int, tok tokenizer.Tokenizer, err error) {
	switch {
	case tokens != "" && text != "":
		return nil, nil, errors.New("give --tokens or --text, not both")
	case text != "":
		if seqs, tok, err = ReadPrompt(m, dir, text, false); err != nil {
			return nil, nil, fmt.Errorf("--text: %w (--tokens takes ids)", err)
		}
	case tokens != "":
		if seqs, tok, err = ReadPrompt(m, dir, tokens, true); err != nil {
			return nil, nil, fmt.Errorf("--tokens: %w", err)
		}
	default:
		return nil, nil, errors.New("give the prompt with --tokens or --text")
	}
	return seqs, tok, nil
}

// ReadPrompt is PromptTokens for one prompt, given as ids ("1,2,3;4,5,6") or as
// text, with errors that name no flag: the explorer's page shows them too, and each
// command names its own flags.
func ReadPrompt(m *models.Model, dir, prompt string, ids bool) (seqs [][]int, tok tokenizer.Tokenizer, err error) {
	if ids {
		if seqs, err = tokenizer.ParseIDs(prompt); err != nil {
			return nil, nil, err
		}
		if tokenizer.Has(dir) {
			if tok, err = TokenizerOf(m, dir); err != nil {
				return nil, nil, err
			}
		}
	} else {
		if tok, err = TokenizerOf(m, dir); err != nil {
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

// TokenizePrompt reads one prompt of the explorer (text, or ids when ids is set) for m
// (ReadPrompt): the explorer server's attention.Models.Tokenize.
func TokenizePrompt(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error) {
	seqs, tok, err := ReadPrompt(m, dir, prompt, ids)
	if err != nil {
		return nil, nil, err
	}
	return seqs[0], tok, nil
}

// TokenizerOf returns the tokenizer of a model directory (tokenizer.ForDir).
func TokenizerOf(m *models.Model, dir string) (tokenizer.Tokenizer, error) {
	return tokenizer.ForDir(dir, m.Config.DVocab, models.WrittenByMechinterp(dir))
}

// answerToken reads an answer flag (--answer, --wrong): a token id in tokens mode, else
// text that the tokenizer encodes to exactly one token.
func answerToken(m *models.Model, tok tokenizer.Tokenizer, flag, s string, tokensMode bool) (int, error) {
	var id int
	if tokensMode {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("--%s: %q is not a token id", flag, s)
		}
		id = n
	} else {
		ids := tok.Encode(s)
		if len(ids) != 1 {
			return 0, fmt.Errorf("--%s: %q encodes to %d tokens, want exactly one (or use --tokens-mode and an id)", flag, s, len(ids))
		}
		id = ids[0]
	}
	if id < 0 || id >= m.Config.DVocab {
		return 0, fmt.Errorf("--%s: token id %d is out of the vocabulary [0,%d)", flag, id, m.Config.DVocab)
	}
	return id, nil
}
