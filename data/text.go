package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// Text formats.
const (
	FormatAuto  = "auto"  // by extension: .jsonl and .ndjson are JSONL, the rest plain text
	FormatText  = "text"  // every file is one document
	FormatJSONL = "jsonl" // every line is a JSON object; one string field is a document
)

// Text window orders.
const (
	// OrderRandom draws window i's start uniformly from the seed and i;
	// windows overlap, and a stretch of text may be seen more than once.
	OrderRandom = "random"
	// OrderSequential makes window i the tokens [i·L, (i+1)·L) of the
	// corpus: windows never overlap, so no token is seen twice. A [Mixture]
	// needs it, since its "unique" sequences must be unique (Hernandez et
	// al. 2022 train on each unique token once).
	OrderSequential = "sequential"
)

// TextConfig configures a [Text] source.
type TextConfig struct {
	// Paths are files or directories (walked recursively in lexical order,
	// skipping names that start with a dot).
	Paths []string `json:"paths" mapstructure:"paths" yaml:"paths"`
	// Format is "auto" (default), "text" or "jsonl".
	Format string `json:"format" mapstructure:"format" yaml:"format"`
	// Field is the JSONL field holding the text (default "text").
	Field string `json:"field" mapstructure:"field" yaml:"field"`
	// Extensions, if set, restricts the files taken from directories, e.g.
	// [".txt", ".md"]. Files named in Paths are always read.
	Extensions []string `json:"extensions" mapstructure:"extensions" yaml:"extensions"`
	// Tokenizer names the tokenizer: "byte" (default), or a directory
	// holding a GPT-2 vocab.json and merges.txt (a Hugging Face GPT-2
	// directory, or what `mechinterp tokenizer train` writes).
	Tokenizer string `json:"tokenizer" mapstructure:"tokenizer" yaml:"tokenizer"`
	// SkipDirs names directories not entered when walking Paths (for
	// example "testdata"); names starting with a dot are always skipped.
	SkipDirs []string `json:"skip_dirs,omitempty" mapstructure:"skip_dirs" yaml:"skip_dirs"`
	// MaxMemoryTokens caps the tokens held in memory (default 1<<26). With
	// the byte tokenizer, plain text files are read in place and never held;
	// JSONL documents (and, with other tokenizers, all documents) are.
	MaxMemoryTokens int64 `json:"max_memory_tokens" mapstructure:"max_memory_tokens" yaml:"max_memory_tokens"`
	// Order is "random" (default: windows at random offsets) or
	// "sequential" (window i is the corpus's i-th non-overlapping window).
	// It is left out of the JSON when random, so the resume fingerprints of
	// runs from before the option existed still match.
	Order string `json:"order,omitempty" mapstructure:"order" yaml:"order"`
}

// WithDefaults fills the fields left at zero with the defaults.
func (c TextConfig) WithDefaults() TextConfig {
	if c.Format == "" {
		c.Format = FormatAuto
	}
	if c.Field == "" {
		c.Field = "text"
	}
	if c.Tokenizer == "" {
		c.Tokenizer = TokenizerByte
	}
	if c.MaxMemoryTokens == 0 {
		c.MaxMemoryTokens = 1 << 26
	}
	if c.Order == "" {
		c.Order = OrderRandom
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults). It reads no
// corpus file; of a tokenizer directory it checks only that it holds the
// tokenizer's files.
func (c TextConfig) Validate() error {
	var errs []error
	if len(c.Paths) == 0 {
		errs = append(errs, errors.New("paths is empty: name at least one file or directory"))
	}
	switch c.Format {
	case FormatAuto, FormatText, FormatJSONL:
	default:
		errs = append(errs, fmt.Errorf("format %q is not one of auto, text, jsonl", c.Format))
	}
	if c.Tokenizer != TokenizerByte && !tokenizer.HasBPE(c.Tokenizer) {
		errs = append(errs, fmt.Errorf("tokenizer %q is neither %q nor a directory holding %s and %s", c.Tokenizer, TokenizerByte, tokenizer.VocabFile, tokenizer.MergesFile))
	}
	if c.MaxMemoryTokens < 0 {
		errs = append(errs, fmt.Errorf("max_memory_tokens must be positive, got %d", c.MaxMemoryTokens))
	}
	if c.Order != OrderRandom && c.Order != OrderSequential {
		errs = append(errs, fmt.Errorf("order %q is not one of %s, %s", c.Order, OrderRandom, OrderSequential))
	}
	if len(errs) > 0 {
		return fmt.Errorf("data: text: %w", errors.Join(errs...))
	}
	return nil
}

// segment is one document followed by an end-of-text token, either read in
// place from a file (byte tokenizer, plain text) or held in memory.
type segment struct {
	start, n int64  // token offset in the corpus and length, end-of-text included
	path     string // file-backed: the tokens are the file's bytes
	toks     []int32
}

// Text is a [Source] of windows of T+1 tokens from a text corpus.
// Documents (files, or JSONL records) are tokenized and concatenated, each
// followed by the tokenizer's end-of-text token, and a window may span
// documents, as in GPT-2 training. In order "random" window i starts at an
// offset drawn uniformly from the seed and i; in order "sequential" it is
// the i-th of the corpus's non-overlapping windows (see [Text.Windows]).
type Text struct {
	cfg   TextConfig
	tok   tokenizer.Tokenizer
	segs  []segment
	total int64
	stream
}

var _ Indexed = (*Text)(nil)

// fileInfo is a corpus file; Rel (the path below its root in Paths, or the
// base name of a file named there) and Size go into the state's
// fingerprint, so a corpus may move without breaking a resume.
type fileInfo struct {
	Path string `json:"-"`
	Rel  string `json:"rel"`
	Size int64  `json:"size"`
}

// NewText reads the corpus of cfg (defaults filled in) with tokenizer tok
// (nil means [tokenizer.Byte]) and returns a source with seed seed. Plain
// text files are only measured here; JSONL is parsed and tokenized.
func NewText(cfg TextConfig, tok tokenizer.Tokenizer, seed uint64) (*Text, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok == nil {
		var err error
		if tok, err = cfg.tokenizer(); err != nil {
			return nil, err
		}
	}
	files, err := cfg.files()
	if err != nil {
		return nil, err
	}
	_, byteTok := tok.(tokenizer.Byte)
	s := &Text{cfg: cfg, tok: tok}
	var inMemory int64
	add := func(seg segment) error {
		if seg.toks != nil {
			inMemory += seg.n
			if inMemory > cfg.MaxMemoryTokens {
				return fmt.Errorf("data: text: the corpus exceeds max_memory_tokens (%d) at %s: raise it, or use plain text files with the byte tokenizer, which are read in place", cfg.MaxMemoryTokens, seg.path)
			}
		}
		seg.start = s.total
		s.total += seg.n
		s.segs = append(s.segs, seg)
		return nil
	}
	for _, f := range files {
		switch {
		case cfg.isJSONL(f.Path):
			err := cfg.readJSONL(f.Path, func(loc, text string) error { return add(s.document(loc, text)) })
			if err != nil {
				return nil, err
			}
		case f.Size == 0:
		case byteTok:
			if err := add(segment{n: f.Size + 1, path: f.Path}); err != nil {
				return nil, err
			}
		default:
			b, err := os.ReadFile(f.Path)
			if err != nil {
				return nil, fmt.Errorf("data: text: %w", err)
			}
			if err := add(s.document(f.Path, string(b))); err != nil {
				return nil, err
			}
		}
	}
	if s.total == 0 {
		return nil, fmt.Errorf("data: text: no text in %s", strings.Join(cfg.Paths, ", "))
	}
	fpCfg := cfg
	fpCfg.Paths = nil
	if fpCfg.Order == OrderRandom {
		fpCfg.Order = "" // omitted: the fingerprint of runs before Order existed
	}
	s.stream, err = newStream("text", seed, struct {
		Config TextConfig
		Files  []fileInfo
	}{fpCfg, files})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// TokenizerByte is the [TextConfig] tokenizer name of [tokenizer.Byte].
const TokenizerByte = "byte"

// tokenizer loads the tokenizer c names: the byte-level one, or the BPE of
// a directory.
func (c TextConfig) tokenizer() (tokenizer.Tokenizer, error) {
	if c.Tokenizer == TokenizerByte {
		return tokenizer.Byte{}, nil
	}
	t, err := tokenizer.LoadBPE(c.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("data: text: %w", err)
	}
	return t, nil
}

func (c TextConfig) isJSONL(path string) bool {
	switch c.Format {
	case FormatJSONL:
		return true
	case FormatText:
		return false
	}
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".jsonl" || ext == ".ndjson"
}

// files lists the corpus files in a deterministic order.
func (c TextConfig) files() ([]fileInfo, error) {
	var out []fileInfo
	for _, root := range c.Paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("data: text: %w", err)
		}
		if !info.IsDir() {
			out = append(out, fileInfo{root, filepath.Base(root), info.Size()})
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.IsDir() && slices.Contains(c.SkipDirs, d.Name())) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !c.wanted(path) {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, fileInfo{path, filepath.ToSlash(rel), fi.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("data: text: walking %s: %w", root, err)
		}
	}
	return out, nil
}

func (c TextConfig) wanted(path string) bool {
	if len(c.Extensions) == 0 {
		return true
	}
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range c.Extensions {
		if strings.ToLower(e) == ext {
			return true
		}
	}
	return false
}

// document tokenizes text into an in-memory segment.
func (s *Text) document(path, text string) segment {
	ids := s.tok.Encode(text)
	toks := make([]int32, len(ids)+1)
	for i, id := range ids {
		toks[i] = int32(id)
	}
	toks[len(ids)] = int32(s.tok.EndOfText())
	return segment{n: int64(len(toks)), path: path, toks: toks}
}

// readJSONL calls doc with the location and text field of every non-blank
// line with a non-empty text.
func (c TextConfig) readJSONL(path string, doc func(loc, text string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: text: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("data: text: %s:%d: %w", path, line, err)
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var rec map[string]json.RawMessage
			if jerr := json.Unmarshal(t, &rec); jerr != nil {
				return fmt.Errorf("data: text: %s:%d: malformed JSONL: %w", path, line, jerr)
			}
			raw, ok := rec[c.Field]
			if !ok {
				return fmt.Errorf("data: text: %s:%d: no field %q", path, line, c.Field)
			}
			var text string
			if jerr := json.Unmarshal(raw, &text); jerr != nil {
				return fmt.Errorf("data: text: %s:%d: field %q is not a string: %w", path, line, c.Field, jerr)
			}
			if text != "" {
				if aerr := doc(fmt.Sprintf("%s:%d", path, line), text); aerr != nil {
					return aerr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// Config returns the source's configuration, defaults filled in.
func (s *Text) Config() TextConfig { return s.cfg }

// Tokens returns the corpus length in tokens, end-of-text tokens included.
func (s *Text) Tokens() int64 { return s.total }

// Tokenizer returns the source's tokenizer.
func (s *Text) Tokenizer() tokenizer.Tokenizer { return s.tok }

// Vocab returns the tokenizer's vocabulary size.
func (s *Text) Vocab() int { return s.tok.VocabSize() }

// Next fills b with the next b.B windows.
func (s *Text) Next(b *Batch) error { return s.fill(b, s.Sequence) }

// State returns the index of the next window, with the seed and a
// fingerprint of the configuration and the files' names and sizes.
func (s *Text) State() ([]byte, error) { return s.state() }

// Restore sets the position from a State.
func (s *Text) Restore(state []byte) error { return s.restore(state) }

// Windows returns the number of non-overlapping windows of L tokens the
// corpus holds: the windows order "sequential" can produce (0 if L < 1).
func (s *Text) Windows(L int) int64 {
	if L < 1 {
		return 0
	}
	return s.total / int64(L)
}

// Sequence writes window i into row: in order "random" the tokens at an
// offset drawn from the seed and i, in order "sequential" the corpus tokens
// [i·L, (i+1)·L) with L = len(row).
func (s *Text) Sequence(i uint64, row []int) ([]Span, error) {
	n := int64(len(row))
	if n > s.total {
		return nil, fmt.Errorf("data: text: the corpus has %d tokens, fewer than a window of %d", s.total, n)
	}
	if s.cfg.Order == OrderSequential {
		w := s.Windows(len(row))
		if i >= uint64(w) {
			return nil, fmt.Errorf("data: text: window %d is past the end: the corpus of %d tokens holds %d windows of %d", i, s.total, w, n)
		}
		return nil, s.read(int64(i)*n, row)
	}
	off := rngFor(s.seed, i).Int64N(s.total - n + 1)
	return nil, s.read(off, row)
}

// read copies the corpus tokens at [off, off+len(dst)) into dst.
func (s *Text) read(off int64, dst []int) error {
	j := sort.Search(len(s.segs), func(j int) bool { return s.segs[j].start+s.segs[j].n > off })
	eot := s.tok.EndOfText()
	for len(dst) > 0 {
		seg := s.segs[j]
		local := off - seg.start
		m := min(int64(len(dst)), seg.n-local)
		switch {
		case seg.toks != nil:
			for k := range m {
				dst[k] = int(seg.toks[local+k])
			}
		default:
			body := min(m, seg.n-1-local) // bytes before the end-of-text token
			if body > 0 {
				if err := readBytes(seg.path, local, dst[:body]); err != nil {
					return err
				}
			}
			if body < m {
				dst[body] = eot
			}
		}
		dst, off, j = dst[m:], off+m, j+1
	}
	return nil
}

func readBytes(path string, off int64, dst []int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: text: %w", err)
	}
	defer f.Close()
	buf := make([]byte, len(dst))
	if _, err := f.ReadAt(buf, off); err != nil {
		return fmt.Errorf("data: text: reading %s (did it change?): %w", path, err)
	}
	for k, c := range buf {
		dst[k] = int(c)
	}
	return nil
}
