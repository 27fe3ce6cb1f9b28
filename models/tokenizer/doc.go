// Package tokenizer turns text into token ids and back.
//
// [Tokenizer] is the interface the rest of mechinterp uses; [Byte] is a
// byte-level tokenizer with 256 byte tokens and one special token,
// <|endoftext|> (id 256), which also serves as the beginning-of-sequence
// token, as in GPT-2. Byte-level tokenization round-trips any string,
// including invalid UTF-8, because every byte is its own token.
package tokenizer
