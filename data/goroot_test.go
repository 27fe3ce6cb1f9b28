package data

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// TestGoroot reads the Go distribution's doc/ as a corpus: real English
// and HTML, present wherever the project builds.
func TestGoroot(t *testing.T) {
	src, err := New(Config{Kind: KindGoroot, Seed: 1, Goroot: GorootConfig{Paths: []string{"doc"}}})
	if err != nil {
		t.Fatal(err)
	}
	text := src.(*Text)
	if text.Tokens() < 100_000 {
		t.Fatalf("doc/ gave %d tokens", text.Tokens())
	}
	b := NewBatch(8, 128)
	if err := src.Next(b); err != nil {
		t.Fatal(err)
	}
	var all string
	for i := range b.B {
		all += text.Tokenizer().Decode(b.Row(i))
	}
	if !strings.Contains(all, " the ") {
		t.Errorf("eight windows of doc/ without the word \"the\": %q", all)
	}
	for _, bad := range []GorootConfig{{Paths: []string{"/etc"}}, {Paths: []string{"../x"}}, {Tokenizer: "/no/such/dir"}} {
		if err := bad.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestGorootSkipsTestdata checks that the corpus leaves out testdata
// directories (inputs of the Go tests, not Go text).
func TestGorootSkipsTestdata(t *testing.T) {
	tc, err := GorootConfig{Paths: []string{"src/encoding/json"}}.TextConfig()
	if err != nil {
		t.Fatal(err)
	}
	files, err := tc.WithDefaults().files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in src/encoding/json")
	}
	for _, f := range files {
		if strings.Contains(filepath.ToSlash(f.Path), "/testdata/") {
			t.Errorf("%s is read", f.Path)
		}
	}
}

// TestTrainTokenizerOnCorpus trains a BPE on doc/ and reads the corpus with
// it through the data config, as a run does.
func TestTrainTokenizerOnCorpus(t *testing.T) {
	c := Config{Kind: KindGoroot, Goroot: GorootConfig{Paths: []string{"doc"}}}
	tr, st, err := TrainTokenizer(context.Background(), c, 512, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files == 0 || st.Bytes < 100_000 || len(tr.Tokens) != 512 {
		t.Fatalf("stats %+v, %d tokens", st, len(tr.Tokens))
	}
	dir := t.TempDir()
	if _, err := tr.Save(dir); err != nil {
		t.Fatal(err)
	}
	c.Goroot.Tokenizer = dir
	src, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if src.Vocab() != 512 {
		t.Errorf("vocab %d", src.Vocab())
	}
	if bpe, ok := src.(*Text).Tokenizer().(*tokenizer.BPE); !ok || bpe.NumMerges() != 512-257 {
		t.Errorf("tokenizer %T", src.(*Text).Tokenizer())
	}
	// 255 merges compress their own text (bytes give 1 byte a token; these
	// give 1.95, and over 1.5 is asked).
	if n := src.(*Text).Tokens(); n*3 > st.Bytes*2 {
		t.Errorf("%d tokens for %d bytes", n, st.Bytes)
	}
	if _, _, err := TrainTokenizer(context.Background(), Config{Kind: KindSynthetic}, 512, 0); err == nil {
		t.Error("synthetic source: no error")
	}
	if _, err := CorpusConfig([]string{"goroot", "x"}); err == nil {
		t.Error("goroot with paths: no error")
	}
}
