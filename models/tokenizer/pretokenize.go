package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// PreTokenize splits s into the chunks GPT-2's byte-level BPE encodes one at
// a time (Radford et al. 2019; openai/gpt-2 encoder.py), following the
// pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// exactly, as a regexp engine with backtracking and lookahead (Python's
// regex module, which GPT-2 uses) matches it: at each position the first
// alternative that matches wins, quantifiers are greedy, and the chunks
// cover s without gaps. Go's regexp has no lookahead, so the rule is
// written out by hand. \p{L}, \p{N} and \s are Unicode letters, numbers and
// white space (unicode.IsLetter, unicode.IsNumber, unicode.IsSpace). Bytes
// that are not valid UTF-8 count as neither letter, number nor space, like
// U+FFFD, so that any byte string splits, and the chunks are substrings of s
// whose concatenation is s.
func PreTokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		n := chunkLen(s[i:])
		out = append(out, s[i:i+n])
		i += n
	}
	return out
}

// chunkLen returns the length in bytes of the chunk at the start of s
// (non-empty), trying the alternatives of GPT-2's pattern in order.
func chunkLen(s string) int {
	// 's|'t|'re|'ve|'m|'ll|'d: lower-case English contractions only.
	if s[0] == '\'' && len(s) >= 2 {
		switch s[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if len(s) >= 3 && s[2] == 'e' {
				return 3
			}
		case 'l':
			if len(s) >= 3 && s[2] == 'l' {
				return 3
			}
		}
	}
	// An optional single space (U+0020 only) before a letter, number or
	// other-symbol run.
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	if start < len(s) {
		r, w := decodeRune(s[start:])
		class := classOf(r)
		if class != classSpace {
			// ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the run of
			// characters of the first one's class. The first class that
			// matches at the (possibly space-prefixed) position is the
			// class of that character, because the three are disjoint.
			n := start + w
			for n < len(s) {
				r, w := decodeRune(s[n:])
				if classOf(r) != class {
					break
				}
				n += w
			}
			return n
		}
	}
	// Here s starts with white space (a lone space before white space or at
	// the end falls here too). \s+(?!\S) takes the whole run when it
	// reaches the end of s; when a non-space follows, it backtracks to the
	// run minus its last character (which may then start the next chunk,
	// " word"), provided that leaves one. Otherwise the run is a single
	// character before a non-space, and \s+ takes it.
	n, last := 0, 0
	for n < len(s) {
		r, w := decodeRune(s[n:])
		if classOf(r) != classSpace {
			break
		}
		last = w
		n += w
	}
	if n == len(s) || n == last {
		return n
	}
	return n - last
}

type charClass uint8

const (
	classOther charClass = iota // [^\s\p{L}\p{N}]
	classLetter
	classNumber
	classSpace
)

func classOf(r rune) charClass {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// decodeRune decodes the first character of s; an invalid byte is one
// character of its own (utf8.RuneError, an "other" symbol).
func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}
