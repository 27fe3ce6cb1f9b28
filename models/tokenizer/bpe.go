package tokenizer

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
	"strings"
	"sync"

	"github.com/mechinterp/mechinterp/internal/config"
)

// Files of a GPT-2 tokenizer, as Hugging Face serves them in a model
// directory.
const (
	VocabFile  = "vocab.json"
	MergesFile = "merges.txt"
)

// BPE is GPT-2's byte-level byte-pair-encoding tokenizer (Radford et al.
// 2019; Sennrich et al. 2016 for BPE): text is split by [PreTokenize], each
// chunk's UTF-8 bytes are written as printable characters by
// [BytesToUnicode], and adjacent symbols are merged by the rank of their
// pair in merges.txt, lowest rank first, until no ranked pair is left. The
// symbols are then looked up in vocab.json. <|endoftext|> is a special token:
// [BPE.Encode] encodes its text like any other (see [Tokenizer]), while
// [BPE.EncodeSpecial] and [BPE.EndOfText] give its id.
//
// Every byte is a symbol of the base alphabet, so any string, valid UTF-8
// or not, encodes, and Decode(Encode(s)) == s. A BPE is safe for concurrent
// use.
type BPE struct {
	vocab  map[string]int
	tokens []string // id -> symbol text (byte-level alphabet), "" for gaps
	byteID [256]int // id of each single-byte symbol
	merges map[[2]int]merge
	eot    int
	size   int

	cache chunkCache
}

type merge struct{ rank, id int }

// maxCache bounds the chunk cache; it is cleared when full.
const maxCache = 1 << 16

var _ Tokenizer = (*BPE)(nil)

// MaxFileBytes bounds each tokenizer file LoadBPE and LoadJSON read (GPT-2's
// vocab.json is 1 MB, Llama 3's tokenizer.json 9 MB, Gemma's 34 MB): a file
// beyond it, or anything but a regular file (a FIFO, /dev/zero), is refused
// before it is read, so a hostile directory cannot make a load hang or
// allocate without bound.
const MaxFileBytes = 64 << 20

// LoadBPE reads dir/vocab.json and dir/merges.txt (the files of a Hugging
// Face GPT-2 directory), each at most MaxFileBytes.
func LoadBPE(dir string) (*BPE, error) {
	vf, err := config.ReadLimited(filepath.Join(dir, VocabFile), MaxFileBytes, "a tokenizer file")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	mf, err := config.ReadLimited(filepath.Join(dir, MergesFile), MaxFileBytes, "a tokenizer file")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ReadBPE(bytes.NewReader(vf), bytes.NewReader(mf))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", dir, err)
	}
	return t, nil
}

// HasBPE reports whether dir holds vocab.json or merges.txt; LoadBPE then
// says what is wrong if it does not hold both.
func HasBPE(dir string) bool {
	for _, f := range []string{VocabFile, MergesFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// ReadBPE builds a BPE from the contents of vocab.json (a JSON object from
// token to id) and merges.txt (an optional "#version" line, then one merge
// "a b" per line, in rank order). It checks that ids are distinct and not
// negative, that every token is written in the byte-level alphabet (except
// <|endoftext|>), that all 256 bytes are tokens, and that both parts and
// the result of every merge are tokens. <|endoftext|> is added after the
// largest id when vocab.json lacks it, as Hugging Face adds it.
func ReadBPE(vocabJSON, mergesTxt io.Reader) (*BPE, error) {
	raw, err := io.ReadAll(vocabJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", VocabFile, err)
	}
	var vocab map[string]int
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("%s: not a JSON object of token ids", VocabFile)
	}
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object of token ids: %w", VocabFile, err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", VocabFile)
	}
	size := 0
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("%s: token %q has negative id %d", VocabFile, tok, id)
		}
		if id >= 1<<24 {
			return nil, fmt.Errorf("%s: token %q has id %d, beyond any real vocabulary", VocabFile, tok, id)
		}
		size = max(size, id+1)
	}
	t := &BPE{vocab: vocab, merges: map[[2]int]merge{}, eot: -1}
	if id, ok := vocab[EndOfText]; ok {
		t.eot = id
	} else {
		t.eot = size
		vocab[EndOfText] = size
		size++
	}
	t.size = size
	t.tokens = make([]string, size)
	seen := make([]bool, size)
	dec := byteDecoder()
	for tok, id := range vocab {
		if seen[id] {
			return nil, fmt.Errorf("%s: id %d is given to both %q and %q", VocabFile, id, t.tokens[id], tok)
		}
		seen[id] = true
		t.tokens[id] = tok
		if id == t.eot {
			continue
		}
		if tok == "" {
			return nil, fmt.Errorf("%s: empty token (id %d)", VocabFile, id)
		}
		for _, r := range tok {
			if _, ok := dec[r]; !ok {
				return nil, fmt.Errorf("%s: token %q (id %d) has %q, which is not in the byte-level alphabet", VocabFile, tok, id, r)
			}
		}
	}
	enc := BytesToUnicode()
	for b := range 256 {
		id, ok := vocab[string(enc[b])]
		if !ok {
			return nil, fmt.Errorf("%s: byte 0x%02x (%q) is not a token; a byte-level vocabulary needs all 256", VocabFile, b, enc[b])
		}
		t.byteID[b] = id
	}

	sc := bufio.NewScanner(mergesTxt)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line, rank := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if (line == 1 && strings.HasPrefix(text, "#version")) || text == "" {
			continue
		}
		parts := strings.Split(text, " ")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%s line %d: %q is not a merge \"a b\"", MergesFile, line, text)
		}
		var ids [2]int
		for i, p := range parts {
			id, ok := vocab[p]
			if !ok || id == t.eot {
				return nil, fmt.Errorf("%s line %d: %q is not a token of %s", MergesFile, line, p, VocabFile)
			}
			ids[i] = id
		}
		res, ok := vocab[parts[0]+parts[1]]
		if !ok {
			return nil, fmt.Errorf("%s line %d: the merge of %q and %q gives %q, which is not a token of %s", MergesFile, line, parts[0], parts[1], parts[0]+parts[1], VocabFile)
		}
		if _, dup := t.merges[ids]; !dup { // a repeated merge keeps its first (lowest) rank
			t.merges[ids] = merge{rank: rank, id: res}
		}
		rank++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", MergesFile, err)
	}
	return t, nil
}

// Encode returns the ids of s. <|endoftext|> in s is plain text here; use
// EncodeSpecial to read it as the special token.
func (t *BPE) Encode(s string) []int {
	var ids []int
	for _, chunk := range PreTokenize(s) {
		ids = append(ids, t.encodeChunk(chunk)...)
	}
	return ids
}

// EncodeSpecial is Encode, except that each "<|endoftext|>" in s becomes the
// special token's id, as Hugging Face's GPT-2 tokenizer reads it.
func (t *BPE) EncodeSpecial(s string) []int {
	return encodeSpecial(t, t.eot, s)
}

// encodeSpecial splits s at each <|endoftext|> and encodes the pieces
// between with tok.Encode.
func encodeSpecial(tok Tokenizer, eot int, s string) []int {
	var ids []int
	for {
		i := strings.Index(s, EndOfText)
		if i < 0 {
			return append(ids, tok.Encode(s)...)
		}
		ids = append(ids, tok.Encode(s[:i])...)
		ids = append(ids, eot)
		s = s[i+len(EndOfText):]
	}
}

// encodeChunk applies the merges to one pre-tokenized chunk.
func (t *BPE) encodeChunk(chunk string) []int {
	if ids, ok := t.cache.get(chunk); ok {
		return ids
	}
	ids := make([]int, len(chunk))
	for i := 0; i < len(chunk); i++ {
		ids[i] = t.byteID[chunk[i]]
	}
	ids = applyMerges(ids, t.merges)
	t.cache.put(chunk, ids)
	return ids
}

// chunkCache maps pre-tokenized chunks to their ids, cleared when it holds
// maxCache chunks; it is safe for concurrent use.
type chunkCache struct {
	mu sync.Mutex
	m  map[string][]int
}

func (c *chunkCache) get(chunk string) ([]int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids, ok := c.m[chunk]
	return ids, ok
}

func (c *chunkCache) put(chunk string, ids []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCache {
		c.m = make(map[string][]int)
	}
	c.m[chunk] = ids
}

// Decode returns the text of ids: each token's bytes in turn, so that a
// character split across tokens comes back whole when its tokens are
// decoded together. <|endoftext|> decodes to its text, and ids outside
// [0, VocabSize()) or unused by vocab.json to U+FFFD. Bytes that are not
// valid UTF-8 are returned as they are, as [Byte] does.
func (t *BPE) Decode(ids []int) string {
	dec := byteDecoder()
	var buf []byte
	for _, id := range ids {
		switch {
		case id == t.eot:
			buf = append(buf, EndOfText...)
		case id < 0 || id >= len(t.tokens) || t.tokens[id] == "":
			buf = append(buf, replacement...)
		default:
			for _, r := range t.tokens[id] {
				buf = append(buf, dec[r])
			}
		}
	}
	return string(buf)
}

// Token returns the vocabulary entry of id as vocab.json spells it (byte-
// level characters, "Ġ" for a space), and false when there is none.
func (t *BPE) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
		return "", false
	}
	return t.tokens[id], true
}

// ID returns the id of a vocabulary entry spelt as in vocab.json.
func (t *BPE) ID(token string) (int, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// VocabSize is one more than the largest id (50257 for GPT-2).
func (t *BPE) VocabSize() int { return t.size }

// EndOfText returns the id of <|endoftext|> (50256 for GPT-2).
func (t *BPE) EndOfText() int { return t.eot }

// BOS returns the id of <|endoftext|>, which GPT-2 also uses to begin a
// sequence (TransformerLens prepends it by default).
func (t *BPE) BOS() int { return t.eot }

// NumMerges is the number of merge rules read from merges.txt.
func (t *BPE) NumMerges() int { return len(t.merges) }

var (
	byteEncOnce sync.Once
	byteEnc     [256]rune
	byteDec     map[rune]byte
)

// BytesToUnicode returns GPT-2's map from each byte to the printable
// character that stands for it in vocab.json and merges.txt (openai/gpt-2
// encoder.py bytes_to_unicode): the printable Latin-1 bytes '!'..'~',
// '¡'..'¬' and '®'..'ÿ' stand for themselves; the other 68 bytes, in
// increasing order, become U+0100, U+0101, ... (a space, 0x20, is 'Ġ').
func BytesToUnicode() [256]rune {
	byteEncOnce.Do(initByteMaps)
	return byteEnc
}

func byteDecoder() map[rune]byte {
	byteEncOnce.Do(initByteMaps)
	return byteDec
}

func initByteMaps() {
	n := 0
	byteDec = make(map[rune]byte, 256)
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteEnc[b] = rune(b)
		} else {
			byteEnc[b] = rune(256 + n)
			n++
		}
		byteDec[byteEnc[b]] = byte(b)
	}
}
