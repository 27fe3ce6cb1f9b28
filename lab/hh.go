package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// maxHHLine bounds one JSONL line of an HH-RLHF file, so that a malformed
// file cannot make the reader hold unbounded memory.
const maxHHLine = 16 << 20

// hhLine is one line of an HH-RLHF file (Bai et al. 2022's release): two
// transcripts of "\n\nHuman: ..." and "\n\nAssistant: ..." turns that
// share their beginning and differ in the last assistant turn.
type hhLine struct {
	Chosen   *string `json:"chosen"`
	Rejected *string `json:"rejected"`
}

// ReadHH reads HH-RLHF comparisons (JSONL, {"chosen": ..., "rejected": ...}
// per line; blank lines skipped) and tokenizes each transcript with tok,
// BOS first. Truncation rule: a transcript longer than maxLen tokens keeps
// BOS and its last maxLen−1 tokens, dropping whole tokens from the left, so
// that the final assistant turn, where chosen and rejected differ, survives.
// limit > 0 stops after that many comparisons.
func ReadHH(r io.Reader, tok tokenizer.Tokenizer, maxLen, limit int) ([]Comparison, error) {
	if maxLen < 2 {
		return nil, fmt.Errorf("lab: HH-RLHF: max length %d leaves no room for a token after BOS", maxLen)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxHHLine)
	var out []Comparison
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		var h hhLine
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("lab: HH-RLHF line %d: %w", line, err)
		}
		if h.Chosen == nil || h.Rejected == nil {
			return nil, fmt.Errorf("lab: HH-RLHF line %d: want both \"chosen\" and \"rejected\" strings", line)
		}
		c := Comparison{Chosen: encodeLeft(tok, *h.Chosen, maxLen), Rejected: encodeLeft(tok, *h.Rejected, maxLen)}
		out = append(out, c)
		if limit > 0 && len(out) == limit {
			return out, nil
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("lab: HH-RLHF: a line is longer than %d bytes: %w", maxHHLine, err)
		}
		return nil, fmt.Errorf("lab: HH-RLHF: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("lab: HH-RLHF: no comparisons in the input")
	}
	return out, nil
}

// ReadHHFile is ReadHH on a file (plain JSONL; decompress .jsonl.gz first).
func ReadHHFile(path string, tok tokenizer.Tokenizer, maxLen, limit int) ([]Comparison, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	cs, err := ReadHH(f, tok, maxLen, limit)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return cs, nil
}

// encodeLeft is BOS + tok(s), truncated from the left to maxLen tokens.
func encodeLeft(tok tokenizer.Tokenizer, s string, maxLen int) []int {
	ids := tok.Encode(s)
	if len(ids) > maxLen-1 {
		ids = ids[len(ids)-(maxLen-1):]
	}
	return append([]int{tok.BOS()}, ids...)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
