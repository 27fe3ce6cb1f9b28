package tokenizer

// EndOfText is the text of the end-of-text special token shared by GPT-2
// style tokenizers.
const EndOfText = "<|endoftext|>"

// Tokenizer maps text to token ids and back.
//
// Encode treats its input as plain text: special-token strings such as
// "<|endoftext|>" in the input are encoded like any other text, never as the
// special token, so that a corpus cannot inject control tokens. Special
// tokens are obtained by id ([Tokenizer.EndOfText], [Tokenizer.BOS]) and
// decode to their text form.
type Tokenizer interface {
	// Encode returns the token ids of s.
	Encode(s string) []int
	// Decode returns the text of ids. Ids outside [0, VocabSize()) decode
	// to U+FFFD, so that Decode never fails.
	Decode(ids []int) string
	// VocabSize is the number of token ids, special tokens included.
	VocabSize() int
	// EndOfText is the id that separates documents.
	EndOfText() int
	// BOS is the id put at the beginning of a sequence.
	BOS() int
}

// replacement is what an out-of-range id decodes to.
const replacement = "\uFFFD"

// SpecialEncoder is implemented by tokenizers that can also read the text of
// their special tokens as those tokens, for prompts a user types (Hugging
// Face's GPT-2 tokenizer reads "<|endoftext|>" so).
type SpecialEncoder interface {
	// EncodeSpecial is Encode, except that each "<|endoftext|>" in s
	// becomes the end-of-text id.
	EncodeSpecial(s string) []int
}

// EncodeSpecial encodes s with tok, reading "<|endoftext|>" as the special
// token: through tok's own EncodeSpecial when it has one, else by splitting
// s at each occurrence.
func EncodeSpecial(tok Tokenizer, s string) []int {
	if se, ok := tok.(SpecialEncoder); ok {
		return se.EncodeSpecial(s)
	}
	return encodeSpecial(tok, tok.EndOfText(), s)
}
