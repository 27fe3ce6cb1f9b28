package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

func TestTokenizerTrain(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("// Package http provides HTTP client and server implementations.\nfunc (c *Client) Do(req *Request) (*Response, error)\n", 40)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tok")
	got, err := cli(t, "tokenizer", "train", "--data", corpus, "--vocab", "300", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "300 tokens, 43 merges") {
		t.Errorf("output %q", got)
	}
	bpe, err := tokenizer.LoadBPE(out)
	if err != nil {
		t.Fatal(err)
	}
	if bpe.Decode(bpe.Encode(text)) != text {
		t.Error("no round trip")
	}
	for _, args := range [][]string{
		{"--data", corpus, "--vocab", "100", "--out", out},
		{"--data", corpus},
		{"--data", filepath.Join(dir, "missing"), "--out", out},
	} {
		if _, err := cli(t, append([]string{"tokenizer", "train"}, args...)...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
