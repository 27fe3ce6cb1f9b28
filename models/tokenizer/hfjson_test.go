package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestJSONMatchesReference checks the ids of tricky texts against the
// independent reference of testdata/tokenizer_json/gen.py, for the four
// tokenizer.json styles: GPT-NeoX's and Qwen2's and Llama 3's byte-level
// BPE, Llama 2's SentencePiece-style BPE with byte fallback.
func TestJSONMatchesReference(t *testing.T) {
	for _, style := range []string{"neox", "qwen2", "llama3", "llama2"} {
		t.Run(style, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "tokenizer_json", style)
			tok, err := LoadJSON(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var exp struct {
				Texts         []string
				Encode        [][]int `json:"encode"`
				EncodeSpecial [][]int `json:"encode_special"`
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			for i, text := range exp.Texts {
				if got := tok.Encode(text); !slices.Equal(got, exp.Encode[i]) && !(len(got) == 0 && len(exp.Encode[i]) == 0) {
					t.Errorf("Encode(%q) = %v, want %v", text, got, exp.Encode[i])
				}
				if got := tok.EncodeSpecial(text); !slices.Equal(got, exp.EncodeSpecial[i]) && !(len(got) == 0 && len(exp.EncodeSpecial[i]) == 0) {
					t.Errorf("EncodeSpecial(%q) = %v, want %v", text, got, exp.EncodeSpecial[i])
				}
				// Decoding gives the text back (NFC-normalized).
				if got := tok.Decode(tok.Encode(text)); !strings.Contains(text, "\u0301") && got != text {
					t.Errorf("Decode(Encode(%q)) = %q", text, got)
				}
			}
		})
	}
}

// TestJSONSpecials checks the BOS rule and the special tokens of each style.
func TestJSONSpecials(t *testing.T) {
	tests := []struct {
		style    string
		addsBOS  bool
		bos, eot string
	}{
		{"neox", false, "<|endoftext|>", "<|endoftext|>"},
		{"qwen2", false, "<|endoftext|>", "<|endoftext|>"},
		{"llama3", true, "<|begin_of_text|>", "<|end_of_text|>"},
		{"llama2", true, "<s>", "</s>"},
	}
	for _, tt := range tests {
		tok, err := LoadJSON(filepath.Join("..", "..", "testdata", "tokenizer_json", tt.style))
		if err != nil {
			t.Fatal(err)
		}
		if tok.AddsBOS() != tt.addsBOS {
			t.Errorf("%s: AddsBOS %v", tt.style, tok.AddsBOS())
		}
		if s, _ := tok.Token(tok.BOS()); s != tt.bos {
			t.Errorf("%s: BOS is %q, want %q", tt.style, s, tt.bos)
		}
		if s, _ := tok.Token(tok.EndOfText()); s != tt.eot {
			t.Errorf("%s: end of text is %q, want %q", tt.style, s, tt.eot)
		}
	}
}

// TestJSONBadInput checks that unsupported or broken files end in one
// clear error.
func TestJSONBadInput(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tokenizer_json", "qwen2", JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"unigram", `"type": "BPE"`, `"type": "Unigram"`, `unsupported model type "Unigram"`},
		{"unknown pattern", `'s|'t|'re`, `'s|'x|'re`, "unsupported pre_tokenizer"},
		{"merge of unknown tokens", `"merges": [`, `"merges": [["zzzz", "q"], `, `merge 0: "zzzz" is not a token`},
		{"normalizer", `"type": "NFC"`, `"type": "NFKC"`, "unsupported normalizer"},
		{"not JSON", `{`, `[`, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := strings.Replace(string(base), tt.old, tt.new, 1)
			if s == string(base) {
				t.Fatalf("no %q in the file", tt.old)
			}
			_, err := ReadJSON(strings.NewReader(s))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzJSONRoundTrip checks that every valid UTF-8 string encodes and
// decodes back, in the byte-level and the byte-fallback styles.
func FuzzJSONRoundTrip(f *testing.F) {
	var toks []*HF
	for _, style := range []string{"qwen2", "llama2"} {
		tok, err := LoadJSON(filepath.Join("..", "..", "testdata", "tokenizer_json", style))
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for _, s := range []string{"hello world", "  x\n\n y", "日本 🦊 1234", "'LL'd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, '\u0301') || strings.ContainsRune(s, utf8.RuneError) {
			return
		}
		for _, tok := range toks {
			if got := tok.Decode(tok.Encode(s)); got != s && !(tok.spStrip && strings.HasPrefix(s, " ")) {
				if norm := tok.Decode(tok.Encode(got)); norm != got { // NFC may change s once
					t.Errorf("round trip of %q gives %q", s, got)
				}
			}
		}
	})
}
