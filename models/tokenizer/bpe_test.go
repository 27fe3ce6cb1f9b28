package tokenizer

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// handMade is the hand-made vocabulary and merges of testdata/tokenizer
// (see its gen.py): GPT-2's 256 byte symbols with GPT-2's ids, 48 merges,
// <|endoftext|> last.
var handMade = filepath.Join("..", "..", "testdata", "tokenizer")

func loadHandMade(t testing.TB) *BPE {
	t.Helper()
	tok, err := LoadBPE(handMade)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// reference is testdata/tokenizer/expected.json: GPT-2's pattern as Python's
// regex module applies it, and openai/gpt-2's bpe() on the hand-made files.
type reference struct {
	VocabSize int `json:"vocab_size"`
	Cases     []struct {
		Text   string   `json:"text"`
		Chunks []string `json:"chunks"`
		IDs    []int    `json:"ids"`
	} `json:"cases"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(handMade, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Cases) < 20 {
		t.Fatalf("expected.json holds %d cases", len(r.Cases))
	}
	return r
}

// TestPreTokenizeTricky checks the split on cases worked out by hand from
// the pattern's alternation order.
func TestPreTokenizeTricky(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"words", "Hello world", []string{"Hello", " world"}},
		{"contractions", "I'm they'll've didn't", []string{"I", "'m", " they", "'ll", "'ve", " didn", "'t"}},
		{"upper-case contraction is not one", "IT'S", []string{"IT", "'", "S"}},
		{"apostrophe run", "''s", []string{"''", "s"}},
		{"space before apostrophe", " 's", []string{" '", "s"}},
		{"runs of spaces", "a   b", []string{"a", "  ", " b"}},
		{"two spaces", "a  b", []string{"a", " ", " b"}},
		{"trailing spaces", "end   ", []string{"end", "   "}},
		{"leading spaces", "   x", []string{"  ", " x"}},
		{"lone trailing space", "x ", []string{"x", " "}},
		{"newline before word", "a\nb", []string{"a", "\n", "b"}},
		{"newlines then space-word", "a\n\n b", []string{"a", "\n\n", " b"}},
		{"space newline word", " \nx", []string{" ", "\n", "x"}},
		{"tab keeps no space", "\tx", []string{"\t", "x"}},
		{"digits split from letters", "abc123def", []string{"abc", "123", "def"}},
		{"space before digits", "x 2024", []string{"x", " 2024"}},
		{"decimal", "3.14", []string{"3", ".", "14"}},
		{"punctuation run", "wait...!?", []string{"wait", "...!?"}},
		{"space-punctuation", "a ($1)", []string{"a", " ($", "1", ")"}},
		{"emoji is a symbol", "hi 👋🏽!", []string{"hi", " 👋🏽!"}},
		{"zwj sequence", "👨‍👩‍👧", []string{"👨‍👩‍👧"}},
		{"mixed scripts are letters", "漢字 Ελλ рус", []string{"漢字", " Ελλ", " рус"}},
		{"combining mark is not a letter", "e\u0301t", []string{"e", "\u0301", "t"}},
		{"other numbers", "½Ⅻ٣", []string{"½Ⅻ٣"}},
		{"no-break space is white space", "a\u00a0b", []string{"a", "\u00a0", "b"}},
		{"only space before letters joins", "a\u00a0\u00a0b", []string{"a", "\u00a0", "\u00a0", "b"}},
		{"invalid utf-8 is a symbol", "a\xff\xfeb", []string{"a", "\xff\xfe", "b"}},
		{"white space only", " \t\n ", []string{" \t\n "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PreTokenize(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("PreTokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestPreTokenizeMatchesGPT2Pattern compares with the pattern itself, run
// by Python's regex module on tricky text (testdata/tokenizer/gen.py).
func TestPreTokenizeMatchesGPT2Pattern(t *testing.T) {
	for _, c := range loadReference(t).Cases {
		want := c.Chunks
		if len(want) == 0 {
			want = nil
		}
		if got := PreTokenize(c.Text); !slices.Equal(got, want) {
			t.Errorf("PreTokenize(%q)\n got  %q\n want %q", c.Text, got, want)
		}
	}
}

// TestBPEKnownEncodings checks merges worked out by hand on the hand-made
// files: rank order beats position, pairs merge left to right, and runs
// of spaces and newlines use their merges.
func TestBPEKnownEncodings(t *testing.T) {
	tok := loadHandMade(t)
	id := func(s string) int {
		t.Helper()
		i, ok := tok.ID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	if got := id("!"); got != 0 {
		t.Errorf(`id("!") = %d, want GPT-2's 0`, got)
	}
	if got := id("Ġ"); got != 220 {
		t.Errorf(`id("Ġ") = %d, want GPT-2's 220`, got)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", "Ġworld"}},
		{" the", []string{"Ġthe"}},
		{"her", []string{"he", "r"}},            // "h e" (rank 1) before "e r" (rank 5)
		{"llll", []string{"ll", "ll"}},          // both occurrences in one pass
		{"lll", []string{"ll", "l"}},            // left to right
		{"café", []string{"c", "a", "f", "Ã©"}}, // é is the bytes C3 A9
		{"    x", []string{"ĠĠ", "Ġ", "Ġ", "x"}},
		{"\n\n\n", []string{"ĊĊ", "Ċ"}},
		{"It's", []string{"I", "t", "'s"}},
		{"123123", []string{"123", "123"}},
		{"👀", []string{"ðŁ", "ĳ", "Ģ"}},
	}
	for _, tt := range tests {
		var want []int
		for _, s := range tt.want {
			want = append(want, id(s))
		}
		if got := tok.Encode(tt.in); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v (%q)", tt.in, got, want, tt.want)
		}
	}
}

// TestBPEMatchesReference compares every id with openai/gpt-2's bpe()
// on the same files, and checks that decoding gives the text back.
func TestBPEMatchesReference(t *testing.T) {
	tok := loadHandMade(t)
	ref := loadReference(t)
	if tok.VocabSize() != ref.VocabSize || tok.EndOfText() != ref.VocabSize-1 || tok.BOS() != tok.EndOfText() {
		t.Errorf("VocabSize %d, EndOfText %d, BOS %d; want %d, %d, %d", tok.VocabSize(), tok.EndOfText(), tok.BOS(), ref.VocabSize, ref.VocabSize-1, ref.VocabSize-1)
	}
	if tok.NumMerges() != 48 {
		t.Errorf("NumMerges = %d, want 48", tok.NumMerges())
	}
	for _, c := range ref.Cases {
		got := tok.Encode(c.Text)
		want := c.IDs
		if len(want) == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q)\n got  %v\n want %v", c.Text, got, want)
		}
		if d := tok.Decode(got); d != c.Text {
			t.Errorf("Decode(Encode(%q)) = %q", c.Text, d)
		}
	}
}

func TestBPESpecialToken(t *testing.T) {
	tok := loadHandMade(t)
	eot := tok.EndOfText()
	plain := tok.Encode("a<|endoftext|>b")
	if slices.Contains(plain, eot) {
		t.Errorf("Encode read <|endoftext|> as the special token: %v", plain)
	}
	a, b := tok.Encode("a"), tok.Encode(" b")
	want := append(append(append([]int{}, a...), eot), b...)
	want = append(want, eot)
	for name, got := range map[string][]int{
		"BPE.EncodeSpecial":       tok.EncodeSpecial("a<|endoftext|> b<|endoftext|>"),
		"tokenizer.EncodeSpecial": EncodeSpecial(tok, "a<|endoftext|> b<|endoftext|>"),
	} {
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := tok.Decode([]int{eot}); got != EndOfText {
		t.Errorf("Decode(eot) = %q", got)
	}
	if got := tok.Decode([]int{-1, tok.VocabSize()}); got != "\uFFFD\uFFFD" {
		t.Errorf("Decode(out of range) = %q", got)
	}
	if got := EncodeSpecial(Byte{}, "a<|endoftext|>"); !slices.Equal(got, []int{'a', ByteEndOfText}) {
		t.Errorf("EncodeSpecial(Byte) = %v", got)
	}
}

func TestBytesToUnicode(t *testing.T) {
	m := BytesToUnicode()
	seen := map[rune]bool{}
	for b, r := range m {
		if seen[r] {
			t.Fatalf("byte %d maps to %q twice", b, r)
		}
		seen[r] = true
	}
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', 0: 'Ā', 'A': 'A', 0xAD: 'Ń', 0xFF: 'ÿ', 0x7F: 'ġ'} {
		if m[b] != want {
			t.Errorf("byte 0x%02x -> %q, want %q", b, m[b], want)
		}
	}
}

// writeTok writes a vocab.json and merges.txt into a fresh directory.
func writeTok(t *testing.T, vocab, merges string) string {
	t.Helper()
	dir := t.TempDir()
	if vocab != "" {
		os.WriteFile(filepath.Join(dir, VocabFile), []byte(vocab), 0o644)
	}
	if merges != "" {
		os.WriteFile(filepath.Join(dir, MergesFile), []byte(merges), 0o644)
	}
	return dir
}

// byteVocab returns the 256 byte symbols as vocab.json entries with ids
// 0-255, plus extra entries.
func byteVocab(extra map[string]int) string {
	v := map[string]int{}
	for i, r := range BytesToUnicode() {
		v[string(r)] = i
	}
	for k, id := range extra {
		v[k] = id
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestReadBPEBadInput(t *testing.T) {
	okMerges := "#version: 0.2\nh e\n"
	okVocab := byteVocab(map[string]int{"he": 256})
	tests := []struct {
		name          string
		vocab, merges string
		want          string
	}{
		{"missing vocab", "", okMerges, "vocab.json"},
		{"missing merges", okVocab, "", "merges.txt"},
		{"vocab not json", "[1,2]", okMerges, "vocab.json: not a JSON object"},
		{"vocab malformed", `{"a": 1,`, okMerges, "vocab.json: not a JSON object"},
		{"vocab string ids", `{"a": "1"}`, okMerges, "vocab.json"},
		{"negative id", byteVocab(map[string]int{"he": -3}), okMerges, "negative id -3"},
		{"duplicate id", byteVocab(map[string]int{"he": 7}), okMerges, "id 7 is given to both"},
		{"byte missing", `{"a": 0}`, "", "not a token; a byte-level vocabulary needs all 256"},
		{"outside alphabet", byteVocab(map[string]int{"he llo": 256}), okMerges, `"he llo" (id 256) has ' '`},
		{"malformed merge", okVocab, "#version: 0.2\nh e\nabc\n", `merges.txt line 3: "abc" is not a merge`},
		{"merge part unknown", okVocab, "#version: 0.2\nhe llo\n", `merges.txt line 2: "llo" is not a token`},
		{"merge result unknown", okVocab, "#version: 0.2\nx y\n", `gives "xy", which is not a token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merges := tt.merges
			if tt.name == "byte missing" {
				merges = okMerges
			}
			dir := writeTok(t, tt.vocab, merges)
			tok, err := LoadBPE(dir)
			if err == nil {
				t.Fatalf("no error (vocab size %d), want %q", tok.VocabSize(), tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.want)
			}
		})
	}
	_, err := LoadBPE(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v does not wrap fs.ErrNotExist", err)
	}
}

// A vocabulary without <|endoftext|> gets it after its largest id, and
// merges.txt without a #version line, or with CRLF endings, reads the same.
func TestReadBPEAddsEndOfText(t *testing.T) {
	dir := writeTok(t, byteVocab(map[string]int{"he": 256}), "h e\r\n")
	tok, err := LoadBPE(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.EndOfText() != 257 || tok.VocabSize() != 258 {
		t.Errorf("EndOfText %d, VocabSize %d; want 257, 258", tok.EndOfText(), tok.VocabSize())
	}
	if got := tok.Encode("the"); !slices.Equal(got, []int{int(BytesToUnicode()['t']), 256}) {
		t.Errorf("Encode(the) = %v", got)
	}
	if !HasBPE(dir) || HasBPE(t.TempDir()) {
		t.Error("HasBPE wrong")
	}
}

// TestBPEGPT2 checks the real GPT-2 files, when MECHINTERP_GPT2_DIR names a
// directory holding them (vocab.json and merges.txt as Hugging Face serves
// them); ids as GPT-2 gives them.
func TestBPEGPT2(t *testing.T) {
	dir := os.Getenv("MECHINTERP_GPT2_DIR")
	if dir == "" {
		t.Skip("MECHINTERP_GPT2_DIR is not set: no real GPT-2 tokenizer files to check")
	}
	tok, err := LoadBPE(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 50257 || tok.EndOfText() != 50256 || tok.NumMerges() != 50000 {
		t.Errorf("VocabSize %d, EndOfText %d, merges %d; want 50257, 50256, 50000", tok.VocabSize(), tok.EndOfText(), tok.NumMerges())
	}
	tests := []struct {
		in   string
		want []int
	}{
		{"Hello world", []int{15496, 995}},
		{" the", []int{262}},
		{"The", []int{464}},
		{", and", []int{11, 290}},
		{" of the", []int{286, 262}},
		{"\n\n", []int{628}},
		{"!", []int{0}},
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := tok.EncodeSpecial("<|endoftext|>Hello world"); !slices.Equal(got, []int{50256, 15496, 995}) {
		t.Errorf("EncodeSpecial = %v", got)
	}
	for _, c := range loadReference(t).Cases {
		if got := tok.Decode(tok.Encode(c.Text)); got != c.Text {
			t.Errorf("round trip of %q gave %q", c.Text, got)
		}
	}
}

// FuzzBPERoundTrip: any string, valid UTF-8 or not, splits into chunks
// that concatenate to it, and encodes and decodes back to itself.
func FuzzBPERoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello world", "  \n\n x", "I'll've", "👨‍👩‍👧 漢字", "\xff\xfe", "a<|endoftext|>b", "e\u0301"} {
		f.Add(s)
	}
	tok := loadHandMade(f)
	f.Fuzz(func(t *testing.T, s string) {
		chunks := PreTokenize(s)
		if strings.Join(chunks, "") != s {
			t.Fatalf("chunks %q do not concatenate to %q", chunks, s)
		}
		for _, c := range chunks {
			if c == "" {
				t.Fatalf("empty chunk in %q", chunks)
			}
		}
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() || id == tok.EndOfText() {
				t.Fatalf("Encode(%q) gave id %d", s, id)
			}
		}
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) && len(ids) > len(s) {
			t.Fatalf("%d ids for %d bytes", len(ids), len(s))
		}
	})
}

func BenchmarkBPEEncode(b *testing.B) {
	tok := loadHandMade(b)
	text := strings.Repeat("Hello world, the cat is in the hat. Induction heads copy! ", 100)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}
