// Package tokenizer turns text into token ids and back.
//
// [Tokenizer] is the interface the rest of mechinterp uses. Two tokenizers
// implement it:
//
//   - [Byte], a byte-level tokenizer with 256 byte tokens and one special
//     token, <|endoftext|> (id 256), for models trained here;
//   - [BPE], GPT-2's byte-level byte-pair encoding, read from the
//     vocab.json and merges.txt of a Hugging Face GPT-2 directory
//     ([LoadBPE]). Its pre-tokenizer, [PreTokenize], implements GPT-2's
//     regular expression by hand, because Go's regexp lacks the lookahead
//     the pattern uses.
//
// Both round-trip any string, including invalid UTF-8, because every byte
// is a symbol of the base alphabet. <|endoftext|> doubles as the
// beginning-of-sequence token, as in GPT-2. Encode reads special-token text
// as plain text, so a corpus cannot inject control tokens; [EncodeSpecial]
// reads it as the special token, for prompts a user types.
package tokenizer
