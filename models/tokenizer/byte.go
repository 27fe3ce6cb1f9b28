package tokenizer

// Byte is a byte-level tokenizer: ids 0-255 are the bytes of the UTF-8 (or
// any other) encoding of the text, and id 256 is <|endoftext|>, which is also
// the BOS token, as in GPT-2. Its zero value is ready to use.
//
// Decode(Encode(s)) == s for every string s, valid UTF-8 or not.
type Byte struct{}

// ByteEndOfText is the id of <|endoftext|> in [Byte].
const ByteEndOfText = 256

var _ Tokenizer = Byte{}

// Encode returns one id per byte of s.
func (Byte) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

// Decode returns the bytes of ids as a string; <|endoftext|> decodes to its
// text and ids outside [0, 257) decode to U+FFFD. Byte sequences that are not
// valid UTF-8 are returned unchanged.
func (Byte) Decode(ids []int) string {
	buf := make([]byte, 0, len(ids))
	for _, id := range ids {
		switch {
		case id >= 0 && id < 256:
			buf = append(buf, byte(id))
		case id == ByteEndOfText:
			buf = append(buf, EndOfText...)
		default:
			buf = append(buf, replacement...)
		}
	}
	return string(buf)
}

// VocabSize returns 257: 256 bytes and <|endoftext|>.
func (Byte) VocabSize() int { return 257 }

// EndOfText returns 256.
func (Byte) EndOfText() int { return ByteEndOfText }

// BOS returns 256, the same token as EndOfText, as in GPT-2.
func (Byte) BOS() int { return ByteEndOfText }

// EncodeSpecial is Encode, except that each "<|endoftext|>" in s becomes
// id 256.
func (b Byte) EncodeSpecial(s string) []int { return encodeSpecial(b, ByteEndOfText, s) }
