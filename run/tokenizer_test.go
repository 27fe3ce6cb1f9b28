package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// TestCheckpointsCarryTokenizer trains on text with a trained BPE and
// expects every checkpoint to hold its vocab.json and merges.txt, so that
// a command given the checkpoint tokenizes as the run did.
func TestCheckpointsCarryTokenizer(t *testing.T) {
	corpus := writeFile(t, "corpus.txt", strings.Repeat("func (s *Server) Serve() error { return s.serve() }\n", 60))
	tc := data.Config{Kind: data.KindText, Text: data.TextConfig{Paths: []string{corpus}}}
	tr, _, err := data.TrainTokenizer(context.Background(), tc, 280, 0)
	if err != nil {
		t.Fatal(err)
	}
	tokDir := t.TempDir()
	if _, err := tr.Save(tokDir); err != nil {
		t.Fatal(err)
	}
	c := tinyConfig()
	c.Data = data.Config{Kind: data.KindText, Seed: 1, Text: data.TextConfig{Paths: []string{corpus}, Tokenizer: tokDir}}.WithDefaults()
	c.Model.DVocab = 0
	dir := t.TempDir()
	res, err := Start(context.Background(), dir, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range res.Checkpoints {
		m, err := models.Load(cp)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.DVocab != 280 {
			t.Errorf("%s: d_vocab %d", cp, m.Config.DVocab)
		}
		tok, err := tokenizer.ForDir(cp, m.Config.DVocab, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tok.(*tokenizer.BPE); !ok {
			t.Errorf("%s: tokenizer %T, want the run's BPE", cp, tok)
		}
	}
	if TokenizerFiles(tinyConfig().Data) != nil {
		t.Error("synthetic data has tokenizer files")
	}
	if _, err := os.Stat(filepath.Join(res.Checkpoints[0], tokenizer.MergesFile)); err != nil {
		t.Error(err)
	}
}
