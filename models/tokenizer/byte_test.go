package tokenizer

import (
	"fmt"
	"testing"
	"unicode/utf8"
)

func TestByteRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"ascii", "Hello, world!"},
		{"accents", "naïve café"},
		{"cjk", "注意力就是你所需要的"},
		{"emoji", "induction 👀🧠 heads 👨‍👩‍👧"},
		{"invalid utf8", "a\xff\xfeb\xc3"},
		{"nul and controls", "\x00\x01\n\t\r"},
		{"special text stays text", "x<|endoftext|>y"},
	}
	var tok Byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tok.Encode(tt.in)
			if len(ids) != len(tt.in) {
				t.Fatalf("Encode(%q) gave %d ids, want %d", tt.in, len(ids), len(tt.in))
			}
			for _, id := range ids {
				if id < 0 || id >= 256 {
					t.Fatalf("Encode(%q) produced id %d outside the byte range", tt.in, id)
				}
			}
			if got := tok.Decode(ids); got != tt.in {
				t.Errorf("Decode(Encode(%q)) = %q", tt.in, got)
			}
		})
	}
}

func TestByteSpecials(t *testing.T) {
	var tok Byte
	if tok.VocabSize() != 257 {
		t.Errorf("VocabSize() = %d, want 257", tok.VocabSize())
	}
	if tok.EndOfText() != 256 || tok.BOS() != 256 {
		t.Errorf("EndOfText, BOS = %d, %d; want 256, 256", tok.EndOfText(), tok.BOS())
	}
	tests := []struct {
		ids  []int
		want string
	}{
		{[]int{104, 105, 256}, "hi<|endoftext|>"},
		{[]int{-1, 257, 1000}, "\uFFFD\uFFFD\uFFFD"},
		{[]int{0xff}, "\xff"},
	}
	for _, tt := range tests {
		if got := tok.Decode(tt.ids); got != tt.want {
			t.Errorf("Decode(%v) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}

func FuzzByteRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello", "👀", "\xff\xfe", "a<|endoftext|>b"} {
		f.Add(s)
	}
	var tok Byte
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) != utf8.ValidString(tok.Decode(ids)) {
			t.Fatalf("validity of %q changed in the round trip", s)
		}
	})
}

func ExampleByte() {
	var tok Byte
	ids := tok.Encode("hé👋")
	fmt.Println(ids)
	fmt.Println(tok.Decode(append(ids, tok.EndOfText())))
	// Output:
	// [104 195 169 240 159 145 139]
	// hé👋<|endoftext|>
}
