package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/mechinterp/mechinterp/internal/config"
)

// JSONFile is Hugging Face's tokenizers file, which GPT-NeoX (Pythia),
// Llama, Qwen2 and Mistral directories carry.
const JSONFile = "tokenizer.json"

// metaspace is SentencePiece's stand-in for a space.
const metaspace = "▁"

// Pre-tokenizers of a tokenizer.json this package implements.
const (
	preGPT2   = iota // ByteLevel with use_regex: GPT-2's pattern (GPT-NeoX)
	preCL100K        // Split by the cl100k-style pattern, then ByteLevel (Qwen2: digits one at a time; Llama 3: up to three)
	preNone          // no split: the whole (normalized) text is one chunk (SentencePiece style, Llama 2)
	preMeta          // Metaspace with split: a chunk starts at each ▁
)

// HF is a byte-pair-encoding tokenizer read from a Hugging Face
// tokenizer.json (the tokenizers library's format), in the two forms
// decoder-only models use:
//
//   - byte-level BPE (GPT-NeoX/Pythia, Qwen2, Llama 3): text is split by the
//     pre-tokenizer's pattern (GPT-2's, or the cl100k-style pattern of
//     Qwen2 and Llama 3, implemented by hand as [PreTokenize] is), each
//     chunk's bytes written in GPT-2's byte alphabet ([BytesToUnicode]) and
//     merged by rank;
//   - SentencePiece-style BPE with byte fallback (Llama 2, Mistral): spaces
//     become "▁", one "▁" is prepended, the text's characters are merged by
//     rank, and a character outside the vocabulary becomes its UTF-8 bytes'
//     tokens <0xNN>.
//
// NFC normalization is applied when the file asks for it. The added tokens
// (special tokens such as <|endoftext|>, <s>, </s>) are read as such only
// by EncodeSpecial, which also applies the post-processor's rule for the
// beginning of a sequence (Llama's <s>; none for GPT-NeoX and Qwen2), as
// the tokenizers library's encode with add_special_tokens does. An HF is
// safe for concurrent use.
type HF struct {
	vocab  map[string]int
	tokens []string // id -> token text, "" for gaps
	merges map[[2]int]merge
	size   int

	byteLevel      bool
	pre            int
	digits         int  // preCL100K: the longest run of digits in one chunk
	addPrefixSpace bool // ByteLevel's add_prefix_space
	nfc            bool
	spNormalize    bool // prepend ▁ and write spaces as ▁
	prependFirst   bool // Metaspace's prepend_scheme "first": ▁ before the text's first piece only
	spStrip        bool // the decoder strips the prepended space
	byteFallback   bool
	ignoreMerges   bool
	byteTok        [256]int // byte-level: id of each byte's symbol; byte fallback: id of <0xNN>
	unk            int

	specials []addedToken // longest content first, for EncodeSpecial
	special  map[int]bool
	eot, bos int
	addBOS   bool

	cache chunkCache
}

type addedToken struct {
	id      int
	content string
}

var _ Tokenizer = (*HF)(nil)

// HasJSON reports whether dir holds tokenizer.json.
func HasJSON(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, JSONFile))
	return err == nil
}

// LoadJSON reads dir/tokenizer.json (at most MaxFileBytes).
func LoadJSON(dir string) (*HF, error) {
	b, err := config.ReadLimited(filepath.Join(dir, JSONFile), MaxFileBytes, "a tokenizer file")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ReadJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", filepath.Join(dir, JSONFile), err)
	}
	return t, nil
}

// The parts of tokenizer.json read here.
type hfJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    *hfComponent `json:"normalizer"`
	PreTokenizer  *hfComponent `json:"pre_tokenizer"`
	PostProcessor *hfComponent `json:"post_processor"`
	Decoder       *hfComponent `json:"decoder"`
	Model         struct {
		Type         string            `json:"type"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		ByteFallback bool              `json:"byte_fallback"`
		UnkToken     *string           `json:"unk_token"`
		IgnoreMerges bool              `json:"ignore_merges"`
		Dropout      *float64          `json:"dropout"`
	} `json:"model"`
}

type hfComponent struct {
	Type          string         `json:"type"`
	Normalizers   []*hfComponent `json:"normalizers"`
	PreTokenizers []*hfComponent `json:"pretokenizers"`
	Processors    []*hfComponent `json:"processors"`
	Decoders      []*hfComponent `json:"decoders"`
	Prepend       string         `json:"prepend"`
	Pattern       *struct {
		String string `json:"String"`
		Regex  string `json:"Regex"`
	} `json:"pattern"`
	Content        string `json:"content"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
	Replacement    string `json:"replacement"`
	PrependScheme  string `json:"prepend_scheme"`
	Split          *bool  `json:"split"`
	Start          int    `json:"start"`
	Single         []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	} `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
}

// The cl100k-style patterns of Qwen2 (digits one at a time) and Llama 3
// (up to three), verbatim from their tokenizer.json files.
const (
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// ReadJSON builds an HF tokenizer from the contents of a tokenizer.json. It
// refuses, with an error naming it, any component it does not implement,
// rather than tokenize differently from the library.
func ReadJSON(r io.Reader) (*HF, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var h hfJSON
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if h.Model.Type != "BPE" {
		return nil, fmt.Errorf("unsupported model type %q: only BPE is implemented", h.Model.Type)
	}
	if h.Model.Dropout != nil && *h.Model.Dropout != 0 {
		return nil, fmt.Errorf("unsupported BPE dropout %v", *h.Model.Dropout)
	}
	if len(h.Model.Vocab) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	t := &HF{vocab: h.Model.Vocab, merges: map[[2]int]merge{}, unk: -1, eot: -1, bos: -1, special: map[int]bool{},
		byteFallback: h.Model.ByteFallback, ignoreMerges: h.Model.IgnoreMerges}
	for tok, id := range t.vocab {
		if id < 0 || id >= 1<<24 {
			return nil, fmt.Errorf("token %q has id %d, outside [0, 2^24)", tok, id)
		}
		t.size = max(t.size, id+1)
	}
	for _, a := range h.AddedTokens {
		if a.ID < 0 || a.ID >= 1<<24 || a.Content == "" {
			return nil, fmt.Errorf("added token %q has id %d", a.Content, a.ID)
		}
		t.size = max(t.size, a.ID+1)
	}
	t.tokens = make([]string, t.size)
	for tok, id := range t.vocab {
		if t.tokens[id] != "" && t.tokens[id] != tok {
			return nil, fmt.Errorf("id %d is given to both %q and %q", id, t.tokens[id], tok)
		}
		t.tokens[id] = tok
	}
	for _, a := range h.AddedTokens {
		if t.tokens[a.ID] != "" && t.tokens[a.ID] != a.Content {
			return nil, fmt.Errorf("added token %q has id %d, which the vocabulary gives %q", a.Content, a.ID, t.tokens[a.ID])
		}
		t.tokens[a.ID] = a.Content
		t.specials = append(t.specials, addedToken{a.ID, a.Content})
		t.special[a.ID] = true
	}
	slices.SortStableFunc(t.specials, func(a, b addedToken) int { return len(b.content) - len(a.content) })
	if h.Model.UnkToken != nil {
		id, ok := t.vocab[*h.Model.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", *h.Model.UnkToken)
		}
		t.unk = id
	}
	if err := t.readNormalizer(h.Normalizer); err != nil {
		return nil, err
	}
	if err := t.readPreTokenizer(h.PreTokenizer); err != nil {
		return nil, err
	}
	if t.byteLevel == t.spNormalize {
		return nil, errors.New("unsupported combination of normalizer and pre-tokenizer: want ByteLevel, or SentencePiece's ▁ (Prepend and Replace, or Metaspace)")
	}
	if err := t.readPostProcessor(h.PostProcessor); err != nil {
		return nil, err
	}
	t.spStrip = t.spNormalize && hasStrip(h.Decoder)
	if err := t.readMerges(h.Model.Merges); err != nil {
		return nil, err
	}
	if t.byteLevel {
		enc := BytesToUnicode()
		for b := range 256 {
			id, ok := t.vocab[string(enc[b])]
			if !ok {
				return nil, fmt.Errorf("byte 0x%02x (%q) is not a token; a byte-level vocabulary needs all 256", b, enc[b])
			}
			t.byteTok[b] = id
		}
	} else if t.byteFallback {
		for b := range 256 {
			id, ok := t.vocab[fmt.Sprintf("<0x%02X>", b)]
			if !ok {
				return nil, fmt.Errorf("byte_fallback is set but <0x%02X> is not a token", b)
			}
			t.byteTok[b] = id
		}
	}
	for _, name := range []string{"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>"} {
		if id, ok := t.lookup(name); ok {
			t.eot = id
			break
		}
	}
	if t.bos < 0 {
		for _, name := range []string{"<s>", "<|begin_of_text|>", "<bos>"} {
			if id, ok := t.lookup(name); ok {
				t.bos = id
				break
			}
		}
	}
	if t.eot < 0 {
		t.eot = t.bos
	}
	if t.bos < 0 {
		t.bos = t.eot
	}
	if t.eot < 0 {
		return nil, errors.New("no end-of-text token (<|endoftext|>, </s>, <|end_of_text|> or <eos>)")
	}
	return t, nil
}

func (t *HF) lookup(tok string) (int, bool) {
	for _, a := range t.specials {
		if a.content == tok {
			return a.id, true
		}
	}
	id, ok := t.vocab[tok]
	return id, ok
}

func (t *HF) readNormalizer(c *hfComponent) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for _, n := range c.Normalizers {
			if err := t.readNormalizer(n); err != nil {
				return err
			}
		}
		return nil
	case "NFC":
		t.nfc = true
		return nil
	case "Prepend":
		if c.Prepend == metaspace {
			t.spNormalize = true
			return nil
		}
	case "Replace":
		if c.Pattern != nil && c.Pattern.String == " " && c.Content == metaspace {
			t.spNormalize = true
			return nil
		}
	}
	return fmt.Errorf("unsupported normalizer %s", describe(c))
}

func (t *HF) readPreTokenizer(c *hfComponent) error {
	if c == nil {
		t.pre = preNone
		return nil
	}
	switch c.Type {
	case "ByteLevel":
		t.byteLevel = true
		t.addPrefixSpace = c.AddPrefixSpace
		if c.UseRegex == nil || *c.UseRegex {
			t.pre = preGPT2
		}
		return nil
	case "Sequence":
		if len(c.PreTokenizers) == 2 && c.PreTokenizers[0].Type == "Split" && c.PreTokenizers[1].Type == "ByteLevel" {
			s, b := c.PreTokenizers[0], c.PreTokenizers[1]
			if b.UseRegex != nil && !*b.UseRegex && !b.AddPrefixSpace && s.Pattern != nil && s.Behavior == "Isolated" && !s.Invert {
				switch s.Pattern.Regex {
				case patternQwen2:
					t.byteLevel, t.pre, t.digits = true, preCL100K, 1
					return nil
				case patternLlama3:
					t.byteLevel, t.pre, t.digits = true, preCL100K, 3
					return nil
				}
			}
		}
	case "Metaspace":
		if c.Replacement == metaspace && (c.PrependScheme == "" || c.PrependScheme == "always" || c.PrependScheme == "first") {
			t.spNormalize = true
			t.prependFirst = c.PrependScheme == "first"
			t.pre = preNone
			if c.Split != nil && *c.Split {
				t.pre = preMeta
			}
			return nil
		}
	}
	return fmt.Errorf("unsupported pre_tokenizer %s", describe(c))
}

// readPostProcessor reads the beginning-of-sequence rule: a
// TemplateProcessing whose single-sequence template starts with a special
// token (Llama's "<s> $A") prepends it; ByteLevel and RobertaProcessing-free
// files prepend nothing.
func (t *HF) readPostProcessor(c *hfComponent) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for _, p := range c.Processors {
			if err := t.readPostProcessor(p); err != nil {
				return err
			}
		}
		return nil
	case "ByteLevel":
		return nil
	case "TemplateProcessing":
		if len(c.Single) == 0 {
			return nil
		}
		for i, item := range c.Single {
			if item.SpecialToken == nil {
				continue
			}
			st, ok := c.SpecialTokens[item.SpecialToken.ID]
			if i != 0 || !ok || len(st.IDs) != 1 {
				return fmt.Errorf("unsupported post_processor template: only a leading special token (a BOS) is implemented")
			}
			t.bos, t.addBOS = st.IDs[0], true
		}
		return nil
	}
	return fmt.Errorf("unsupported post_processor %s", describe(c))
}

func hasStrip(c *hfComponent) bool {
	if c == nil {
		return false
	}
	if c.Type == "Strip" && c.Content == " " && c.Start == 1 {
		return true
	}
	if c.Type == "Metaspace" && c.PrependScheme != "never" {
		return true
	}
	for _, d := range c.Decoders {
		if hasStrip(d) {
			return true
		}
	}
	return false
}

func describe(c *hfComponent) string {
	b, _ := json.Marshal(c)
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q (%s)", c.Type, s)
}

// readMerges reads merges given as "a b" strings or as ["a", "b"] pairs.
func (t *HF) readMerges(raw []json.RawMessage) error {
	for rank, m := range raw {
		var parts []string
		var s string
		if err := json.Unmarshal(m, &s); err == nil {
			parts = strings.Split(s, " ")
		} else if err := json.Unmarshal(m, &parts); err != nil {
			return fmt.Errorf("merge %d is neither \"a b\" nor [\"a\", \"b\"]", rank)
		}
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("merge %d %q is not two tokens", rank, parts)
		}
		var ids [2]int
		for i, p := range parts {
			id, ok := t.vocab[p]
			if !ok {
				return fmt.Errorf("merge %d: %q is not a token of the vocabulary", rank, p)
			}
			ids[i] = id
		}
		res, ok := t.vocab[parts[0]+parts[1]]
		if !ok {
			return fmt.Errorf("merge %d: %q + %q gives %q, which is not a token", rank, parts[0], parts[1], parts[0]+parts[1])
		}
		if _, dup := t.merges[ids]; !dup {
			t.merges[ids] = merge{rank: rank, id: res}
		}
	}
	return nil
}

// Encode returns the ids of s, reading added tokens' text as plain text and
// adding no beginning-of-sequence token.
func (t *HF) Encode(s string) []int {
	var ids []int
	for _, chunk := range t.chunks(s) {
		ids = append(ids, t.encodeChunk(chunk)...)
	}
	return ids
}

// EncodeSpecial encodes s as the tokenizers library does by default: each
// added token's text becomes that token, the text between is normalized and
// encoded piece by piece, and the post-processor's beginning-of-sequence
// token (Llama's <s>) is prepended. SentencePiece's "▁" is prepended to
// every piece (the Prepend normalizer), or to the first only (Metaspace's
// prepend_scheme "first").
func (t *HF) EncodeSpecial(s string) []int {
	var ids []int
	if t.addBOS {
		ids = append(ids, t.bos)
	}
	first := true
	for len(s) > 0 {
		at, tok := -1, addedToken{}
		for _, a := range t.specials {
			if i := strings.Index(s, a.content); i >= 0 && (at < 0 || i < at) {
				at, tok = i, a
			}
		}
		if at < 0 {
			ids = append(ids, t.encodePiece(s, first)...)
			break
		}
		if at > 0 {
			ids = append(ids, t.encodePiece(s[:at], first)...)
		}
		ids = append(ids, tok.id)
		s = s[at+len(tok.content):]
		first = false
	}
	return ids
}

// encodePiece encodes text between added tokens.
func (t *HF) encodePiece(s string, first bool) []int {
	if !t.prependFirst || first {
		return t.Encode(s)
	}
	var ids []int
	for _, chunk := range t.splitChunks(t.normalize(s, false)) {
		ids = append(ids, t.encodeChunk(chunk)...)
	}
	return ids
}

// normalize applies NFC and, for SentencePiece, the ▁ rewriting.
func (t *HF) normalize(s string, prepend bool) string {
	if t.nfc && utf8.ValidString(s) {
		s = norm.NFC.String(s)
	}
	if t.spNormalize {
		s = strings.ReplaceAll(s, " ", metaspace)
		if prepend && s != "" {
			s = metaspace + s
		}
	}
	if t.addPrefixSpace && s != "" && s[0] != ' ' {
		s = " " + s
	}
	return s
}

func (t *HF) chunks(s string) []string { return t.splitChunks(t.normalize(s, true)) }

// splitChunks pre-tokenizes normalized text.
func (t *HF) splitChunks(s string) []string {
	if s == "" {
		return nil
	}
	switch t.pre {
	case preGPT2:
		return PreTokenize(s)
	case preCL100K:
		var out []string
		for i := 0; i < len(s); {
			n := cl100kChunkLen(s[i:], t.digits)
			out = append(out, s[i:i+n])
			i += n
		}
		return out
	case preMeta:
		var out []string
		for len(s) > 0 {
			i := strings.Index(s[1:], metaspace)
			if i < 0 {
				out = append(out, s)
				break
			}
			out = append(out, s[:i+1])
			s = s[i+1:]
		}
		return out
	}
	return []string{s}
}

// encodeChunk turns one chunk into symbols (bytes in the byte alphabet, or
// characters with byte fallback) and applies the merges, lowest rank first.
func (t *HF) encodeChunk(chunk string) []int {
	if ids, ok := t.cache.get(chunk); ok {
		return ids
	}
	var ids []int
	if t.byteLevel {
		if t.ignoreMerges {
			enc := BytesToUnicode()
			var b strings.Builder
			for i := 0; i < len(chunk); i++ {
				b.WriteRune(enc[chunk[i]])
			}
			if id, ok := t.vocab[b.String()]; ok {
				return []int{id}
			}
		}
		ids = make([]int, len(chunk))
		for i := 0; i < len(chunk); i++ {
			ids[i] = t.byteTok[chunk[i]]
		}
	} else {
		for i := 0; i < len(chunk); {
			r, w := utf8.DecodeRuneInString(chunk[i:])
			c := chunk[i : i+w]
			if r == utf8.RuneError && w == 1 {
				c = "\uFFFD"
			}
			if id, ok := t.vocab[c]; ok {
				ids = append(ids, id)
			} else if t.byteFallback {
				for j := i; j < i+w; j++ {
					ids = append(ids, t.byteTok[chunk[j]])
				}
			} else if t.unk >= 0 {
				ids = append(ids, t.unk)
			}
			i += w
		}
	}
	ids = applyMerges(ids, t.merges)
	t.cache.put(chunk, ids)
	return ids
}

// applyMerges merges the lowest-ranked pair of adjacent symbols, every
// occurrence left to right (as openai/gpt-2 encoder.py's bpe does), until no
// pair has a rank, and returns the result in a new slice.
func applyMerges(ids []int, merges map[[2]int]merge) []int {
	for len(ids) > 1 {
		best := merge{rank: -1}
		var pair [2]int
		for i := 0; i+1 < len(ids); i++ {
			if m, ok := merges[[2]int{ids[i], ids[i+1]}]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, pair = m, [2]int{ids[i], ids[i+1]}
			}
		}
		if best.rank < 0 {
			break
		}
		out := ids[:0]
		for i := 0; i < len(ids); i++ {
			if i+1 < len(ids) && ids[i] == pair[0] && ids[i+1] == pair[1] {
				out = append(out, best.id)
				i++
			} else {
				out = append(out, ids[i])
			}
		}
		ids = out
	}
	return append([]int(nil), ids...)
}

// Decode returns the text of ids: byte-level tokens' bytes, or
// SentencePiece pieces with ▁ read as a space, <0xNN> as its byte, and the
// prepended space stripped; added tokens decode to their text, unknown ids
// to U+FFFD.
func (t *HF) Decode(ids []int) string {
	var buf []byte
	dec := byteDecoder()
	for _, id := range ids {
		switch {
		case id < 0 || id >= len(t.tokens) || t.tokens[id] == "":
			buf = append(buf, replacement...)
		case t.special[id]:
			buf = append(buf, t.tokens[id]...)
		case t.byteLevel:
			for _, r := range t.tokens[id] {
				if b, ok := dec[r]; ok {
					buf = append(buf, b)
				} else {
					buf = utf8.AppendRune(buf, r)
				}
			}
		default:
			tok := t.tokens[id]
			var b byte
			if n, _ := fmt.Sscanf(tok, "<0x%02X>", &b); n == 1 && len(tok) == 6 {
				buf = append(buf, b)
			} else {
				buf = append(buf, strings.ReplaceAll(tok, metaspace, " ")...)
			}
		}
	}
	if t.spStrip && len(buf) > 0 && buf[0] == ' ' {
		buf = buf[1:]
	}
	return string(buf)
}

// VocabSize is one more than the largest id, added tokens included.
func (t *HF) VocabSize() int { return t.size }

// EndOfText returns the id of the end-of-text token (<|endoftext|>, or
// </s> in SentencePiece vocabularies).
func (t *HF) EndOfText() int { return t.eot }

// BOS returns the id of the beginning-of-sequence token: the
// post-processor's (Llama's <s>), else <s> or <|begin_of_text|> when the
// vocabulary has one, else the end-of-text token (GPT-NeoX's
// <|endoftext|>, which TransformerLens prepends).
func (t *HF) BOS() int { return t.bos }

// AddsBOS reports whether EncodeSpecial prepends BOS (the tokenizer's
// post-processor does, as Llama's).
func (t *HF) AddsBOS() bool { return t.addBOS }

// Token returns the vocabulary entry of id as tokenizer.json spells it.
func (t *HF) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
		return "", false
	}
	return t.tokens[id], true
}

// cl100kChunkLen returns the length of the chunk at the start of s under
// the cl100k-style pattern of Qwen2 (digits 1) and Llama 3 (digits 3):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// as a backtracking engine matches it: the first alternative that matches
// wins, quantifiers greedy.
func cl100kChunkLen(s string, digits int) int {
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[0] == '\'' && len(s) >= 2 {
		lower := func(b byte) byte { return b | 0x20 }
		switch lower(s[1]) {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if len(s) >= 3 && lower(s[2]) == 'e' {
				return 3
			}
		case 'l':
			if len(s) >= 3 && lower(s[2]) == 'l' {
				return 3
			}
		}
	}
	r0, w0 := decodeRune(s)
	c0 := classOf(r0)
	letters := func(i int) int { // end of the run of letters from i
		for i < len(s) {
			r, w := decodeRune(s[i:])
			if classOf(r) != classLetter {
				break
			}
			i += w
		}
		return i
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == classLetter {
		return letters(w0)
	}
	if c0 != classNumber && r0 != '\r' && r0 != '\n' && w0 < len(s) {
		if r1, _ := decodeRune(s[w0:]); classOf(r1) == classLetter {
			return letters(w0)
		}
	}
	// \p{N}{1,digits}
	if c0 == classNumber {
		n, i := w0, 1
		for n < len(s) && i < digits {
			r, w := decodeRune(s[n:])
			if classOf(r) != classNumber {
				break
			}
			n += w
			i++
		}
		return n
	}
	isCRLF := func(r rune) bool { return r == '\r' || r == '\n' }
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	if r, _ := decodeRune(s[start:]); classOf(r) == classOther {
		n := start
		for n < len(s) {
			r, w := decodeRune(s[n:])
			if classOf(r) != classOther {
				break
			}
			n += w
		}
		for n < len(s) && (s[n] == '\r' || s[n] == '\n') {
			n++
		}
		return n
	}
	// Here s starts with white space. \s*[\r\n]+: up to the run's last
	// CR or LF.
	n, last, lastCRLF := 0, 0, -1
	for n < len(s) {
		r, w := decodeRune(s[n:])
		if classOf(r) != classSpace {
			break
		}
		if isCRLF(r) {
			lastCRLF = n + w
		}
		last = w
		n += w
	}
	if lastCRLF > 0 {
		return lastCRLF
	}
	// \s+(?!\S), else \s+.
	if n == len(s) || n == last {
		return n
	}
	return n - last
}
