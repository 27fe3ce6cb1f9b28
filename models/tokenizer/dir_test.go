package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseIDs(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"1,2,3", "[[1 2 3]]", ""},
		{" 1, 2 ;3,4 ", "[[1 2] [3 4]]", ""},
		{"1,x", "", `"x" is not a token id`},
		{"1;", "", "sequence 1 is empty"},
		{"1,2;3", "", "sequence 1 has 1 tokens, sequence 0 has 2"},
	} {
		got, err := ParseIDs(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseIDs(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("ParseIDs(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestForDir(t *testing.T) {
	empty := t.TempDir()
	withJSON := t.TempDir()
	if err := os.WriteFile(filepath.Join(withJSON, "tokenizer.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err := ForDir(empty, 300, true); err != nil || tok.VocabSize() != 257 {
		t.Errorf("a mechinterp checkpoint without BPE files: %v, %v; want the byte-level tokenizer", tok, err)
	}
	for _, tt := range []struct {
		dir   string
		vocab int
		ours  bool
		want  string
	}{
		{empty, 300, false, "add them, or give token ids"},
		{withJSON, 300, false, `unsupported model type ""`},
		{empty, 20, true, "holds the 257 byte-level tokens"},
	} {
		if _, err := ForDir(tt.dir, tt.vocab, tt.ours); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ForDir(vocab %d, ours %v): error %v, want %q", tt.vocab, tt.ours, err, tt.want)
		}
	}
}

// TestForDirJSON: a directory with tokenizer.json alone gets it; one with
// vocab.json and merges.txt as well keeps GPT-2's BPE.
func TestForDirJSON(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "tokenizer_json", "llama2")
	tok, err := ForDir(dir, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*HF); !ok {
		t.Fatalf("ForDir gave %T, want *HF", tok)
	}
	if ids := EncodeSpecial(tok, "Hello"); len(ids) == 0 || ids[0] != tok.BOS() {
		t.Errorf("EncodeSpecial(Hello) = %v: want Llama's <s> first", ids)
	}
	if _, err := ForDir(dir, 100, false); err == nil || !strings.Contains(err.Error(), "442 tokens but the model's vocabulary holds 100") {
		t.Errorf("small vocabulary: %v", err)
	}
}

// TestLoadHostileFiles: a tokenizer file that is a FIFO (which blocked the read forever),
// a link to /dev/zero (which grew without bound) or a file over MaxFileBytes (read whole
// before) is refused at once with its name, for vocab.json, merges.txt and tokenizer.json.
func TestLoadHostileFiles(t *testing.T) {
	for _, name := range []string{VocabFile, MergesFile, JSONFile} {
		for _, kind := range []string{"fifo", "dev-zero", "huge"} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				dir := t.TempDir()
				for _, f := range []string{VocabFile, MergesFile} { // well-formed partners
					if f != name && name != JSONFile {
						body := "{}"
						if f == MergesFile {
							body = "#version: 0.2\n"
						}
						if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				path := filepath.Join(dir, name)
				want := "not a regular file"
				switch kind {
				case "fifo":
					if err := syscall.Mkfifo(path, 0o644); err != nil {
						t.Skip(err)
					}
				case "dev-zero":
					if err := os.Symlink("/dev/zero", path); err != nil {
						t.Skip(err)
					}
				case "huge": // sparse: costs no disk
					f, err := os.Create(path)
					if err != nil {
						t.Fatal(err)
					}
					if err := f.Truncate(MaxFileBytes + 1); err != nil {
						t.Fatal(err)
					}
					f.Close()
					want = "more than a tokenizer file's limit"
				}
				errc := make(chan error, 1)
				go func() {
					var err error
					if name == JSONFile {
						_, err = LoadJSON(dir)
					} else {
						_, err = LoadBPE(dir)
					}
					errc <- err
				}()
				select {
				case err := <-errc:
					if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
						t.Errorf("err = %v, want %q naming %s", err, want, name)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the load did not return within 5 s")
				}
			})
		}
	}
}
