package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// TestArchEveryCommand: a GPT-NeoX and a Llama directory in Hugging Face's
// layouts, each with a tokenizer.json, run through the commands that look
// inside a model, prompts given as text; the refusal of the weight-based
// circuits is one line; Llama's tokenizer puts <s> first.
func TestArchEveryCommand(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg           models.Config
		tok           string
		answer, wrong string // one token each: SentencePiece's "the" is "▁the"
	}{
		"neox": {models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 64, DVocab: 420, Positional: models.PosRotary,
			RotaryDim: 4, ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true, Seed: 1}, "neox", " the", " and"},
		"llama": {models.Config{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 16, NCtx: 64, DVocab: 450, Normalization: models.NormRMS,
			Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true,
			NoMLPBias: true, NoUnembedBias: true, Seed: 2}, "llama2", "the", "and"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			m := testmodel.Random(t, tc.cfg, 0.3)
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tokenizer_json", tc.tok, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			text := "The quick brown fox. The quick brown fox"
			for _, args := range [][]string{
				{"run", "--model", dir, "--text", text, "--top", "3"},
				{"heads", "--model", dir, "--text", text, "-o", filepath.Join(out, "heads.html")},
				{"patch", "--model", dir, "--clean", "the and the and", "--corrupted", "the and and and",
					"--answer", tc.answer, "--wrong", tc.wrong, "-o", filepath.Join(out, "patch.html")},
				{"attention", "--model", dir, "--text", text, "-o", filepath.Join(out, "attention.html")},
			} {
				if got, err := cli(t, args...); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, got)
				}
			}
			r := runJSONOut(t, "--model", dir, "--text", "Hello")
			if first := r.Tokens[0][0]; (name == "llama") != (first == 1) {
				t.Errorf("first token of Hello: %d (Llama's <s> is 1; GPT-NeoX adds none)", first)
			}
			_, err = cli(t, "circuits", "--model", dir, "-o", filepath.Join(out, "c.html"))
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "GPT-2's architecture") {
				t.Errorf("circuits on %s: %v, want one line refusing", name, err)
			}
		})
	}
}
