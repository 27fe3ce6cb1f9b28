package data

import (
	"context"
	"fmt"
	"os"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// CorpusConfig resolves a list of corpus names as the CLI takes them
// (--data): "goroot" is the built-in Go corpus ([GorootConfig] defaults),
// anything else a text file or directory ([TextConfig]).
func CorpusConfig(names []string) (Config, error) {
	if len(names) == 0 {
		return Config{}, fmt.Errorf("data: no corpus named (give %q or text files and directories)", KindGoroot)
	}
	if len(names) == 1 && names[0] == KindGoroot {
		return Config{Kind: KindGoroot}, nil
	}
	for _, n := range names {
		if n == KindGoroot {
			return Config{}, fmt.Errorf("data: %q is a corpus by itself: name it alone, or name its directories as text", KindGoroot)
		}
	}
	return Config{Kind: KindText, Text: TextConfig{Paths: names}}, nil
}

// TextOf returns the [TextConfig] of a text-like source config: the text
// section, or the Go corpus's resolved on this machine.
func TextOf(c Config) (TextConfig, error) {
	c = c.WithDefaults()
	switch c.Kind {
	case KindText:
		return c.Text, nil
	case KindGoroot:
		return c.Goroot.TextConfig()
	}
	return TextConfig{}, fmt.Errorf("data: a %q source holds no text", c.Kind)
}

// TokenizerStats describes what [TrainTokenizer] read.
type TokenizerStats struct {
	Files  int   // files read
	Bytes  int64 // bytes of text counted
	Chunks int   // distinct pre-tokenized chunks
}

// TrainTokenizer learns a byte-level BPE of vocab tokens from the documents
// of c (a text or goroot source), reading files in the corpus's order until
// maxBytes of text (0: all). Plain text files count as one document each,
// JSONL records as one each.
func TrainTokenizer(ctx context.Context, c Config, vocab int, maxBytes int64) (*tokenizer.Trained, TokenizerStats, error) {
	var st TokenizerStats
	tc, err := TextOf(c)
	if err != nil {
		return nil, st, err
	}
	tc = tc.WithDefaults()
	tc.Tokenizer = TokenizerByte // the corpus is read as text, whatever it names
	if err := tc.Validate(); err != nil {
		return nil, st, err
	}
	files, err := tc.files()
	if err != nil {
		return nil, st, err
	}
	tr := tokenizer.NewTrainer()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		if maxBytes > 0 && st.Bytes >= maxBytes {
			break
		}
		st.Files++
		if tc.isJSONL(f.Path) {
			err := tc.readJSONL(f.Path, func(_, text string) error {
				st.Bytes += int64(len(text))
				tr.Add(text)
				return nil
			})
			if err != nil {
				return nil, st, err
			}
			continue
		}
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return nil, st, fmt.Errorf("data: %w", err)
		}
		st.Bytes += int64(len(b))
		tr.Add(string(b))
	}
	if st.Bytes == 0 {
		return nil, st, fmt.Errorf("data: no text to train a tokenizer on")
	}
	st.Chunks = tr.Chunks()
	trained, err := tr.Train(vocab)
	return trained, st, err
}
