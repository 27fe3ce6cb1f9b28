package tokenizer

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
)

// Trainer learns a byte-level BPE in GPT-2's format (Sennrich et al. 2016;
// Radford et al. 2019): [Trainer.Add] splits text with [PreTokenize] and
// counts each chunk, so memory grows with the number of distinct chunks,
// not with the corpus; [Trainer.Train] then learns the merges.
//
// The rule is that of Hugging Face's BpeTrainer: start from the 256 bytes,
// and repeatedly merge the adjacent pair of symbols that occurs most often
// in the counted chunks (a chunk seen n times counts n times), never across
// chunks. Ties go to the pair whose left symbol has the lowest id, then the
// right. A merge whose text is already a token reuses its id. Training stops
// when the vocabulary (the merged tokens, the bytes and <|endoftext|>) has
// the size asked for, or when no pair occurs MinFrequency times. The byte
// tokens take ids 0-255 in the order GPT-2's vocab.json lists them, merged
// tokens the ids after, and <|endoftext|> the last id.
type Trainer struct {
	// MinFrequency is the count below which a pair is not merged (default 2).
	MinFrequency int
	chunks       map[string]int64
}

// NewTrainer returns an empty trainer.
func NewTrainer() *Trainer { return &Trainer{chunks: map[string]int64{}} }

// Add counts the chunks of text.
func (t *Trainer) Add(text string) {
	for _, c := range PreTokenize(text) {
		t.chunks[c]++
	}
}

// Chunks is the number of distinct chunks counted so far.
func (t *Trainer) Chunks() int { return len(t.chunks) }

// Trained is a learned BPE: the vocabulary and the merges in rank order,
// written in the byte-level alphabet as vocab.json and merges.txt hold them.
type Trained struct {
	// Tokens[id] is the token of id; the last is <|endoftext|>.
	Tokens []string
	// Merges are the merge rules, lowest rank (applied first) first.
	Merges [][2]string
}

// gpt2ByteOrder lists the 256 bytes in the order of GPT-2's vocab.json:
// the bytes that stand for themselves, then the others (openai/gpt-2
// encoder.py bytes_to_unicode).
func gpt2ByteOrder() []byte {
	enc := BytesToUnicode()
	order := make([]byte, 256)
	for b := range 256 {
		order[b] = byte(b)
	}
	sort.Slice(order, func(i, j int) bool { return enc[order[i]] < enc[order[j]] })
	return order
}

// word is a distinct chunk as symbol ids, with its count.
type word struct {
	syms  []int32
	count int64
}

// pairKey packs a pair of symbol ids.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Train learns merges until the vocabulary holds vocab tokens (at least
// 257: the bytes and <|endoftext|>).
func (t *Trainer) Train(vocab int) (*Trained, error) {
	if vocab < 257 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d: a byte-level BPE needs at least 257 tokens (256 bytes and %s)", vocab, EndOfText)
	}
	minFreq := int64(t.MinFrequency)
	if minFreq <= 0 {
		minFreq = 2
	}
	enc := BytesToUnicode()
	tr := &Trained{}
	ids := map[string]int32{}
	var byteID [256]int32
	for i, b := range gpt2ByteOrder() {
		tok := string(enc[b])
		byteID[b] = int32(i)
		ids[tok] = int32(i)
		tr.Tokens = append(tr.Tokens, tok)
	}
	// Distinct chunks in a fixed order, so that training is deterministic.
	keys := make([]string, 0, len(t.chunks))
	for c := range t.chunks {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	words := make([]word, len(keys))
	counts := map[uint64]int64{}
	where := map[uint64][]int32{} // words that held the pair when it was added (may be stale)
	for i, c := range keys {
		w := word{syms: make([]int32, len(c)), count: t.chunks[c]}
		for j := 0; j < len(c); j++ {
			w.syms[j] = byteID[c[j]]
		}
		words[i] = w
		for j := 0; j+1 < len(w.syms); j++ {
			k := pairKey(w.syms[j], w.syms[j+1])
			counts[k] += w.count
			where[k] = append(where[k], int32(i))
		}
	}
	h := &pairHeap{}
	for k, c := range counts {
		*h = append(*h, pairCount{k, c})
	}
	heap.Init(h)
	stamp := make([]int, len(words)) // the merge that last rewrote each word
	for m := 1; len(tr.Tokens)+1 < vocab; m++ {
		// Pop the best pair whose count is current.
		var best pairCount
		found := false
		for h.Len() > 0 {
			top := heap.Pop(h).(pairCount)
			if c := counts[top.key]; c != top.count {
				if c > 0 {
					heap.Push(h, pairCount{top.key, c})
				}
				continue
			}
			best, found = top, true
			break
		}
		if !found || best.count < minFreq {
			break
		}
		a, b := int32(best.key>>32), int32(uint32(best.key))
		text := tr.Tokens[a] + tr.Tokens[b]
		id, ok := ids[text]
		if !ok {
			id = int32(len(tr.Tokens))
			ids[text] = id
			tr.Tokens = append(tr.Tokens, text)
		}
		tr.Merges = append(tr.Merges, [2]string{tr.Tokens[a], tr.Tokens[b]})
		touched := map[uint64]bool{}
		for _, wi := range where[best.key] {
			if stamp[wi] == m {
				continue
			}
			stamp[wi] = m
			w := &words[wi]
			if !hasPair(w.syms, a, b) {
				continue
			}
			for j := 0; j+1 < len(w.syms); j++ {
				k := pairKey(w.syms[j], w.syms[j+1])
				counts[k] -= w.count
				touched[k] = true
			}
			out := w.syms[:0]
			for j := 0; j < len(w.syms); j++ {
				if j+1 < len(w.syms) && w.syms[j] == a && w.syms[j+1] == b {
					out = append(out, id)
					j++
				} else {
					out = append(out, w.syms[j])
				}
			}
			w.syms = out
			for j := 0; j+1 < len(w.syms); j++ {
				k := pairKey(w.syms[j], w.syms[j+1])
				counts[k] += w.count
				touched[k] = true
				if w.syms[j] == id || w.syms[j+1] == id {
					where[k] = append(where[k], wi)
				}
			}
		}
		delete(where, best.key)
		for k := range touched {
			if c := counts[k]; c > 0 {
				heap.Push(h, pairCount{k, c})
			} else {
				delete(counts, k)
			}
		}
	}
	tr.Tokens = append(tr.Tokens, EndOfText)
	return tr, nil
}

func hasPair(s []int32, a, b int32) bool {
	for j := 0; j+1 < len(s); j++ {
		if s[j] == a && s[j+1] == b {
			return true
		}
	}
	return false
}

type pairCount struct {
	key   uint64
	count int64
}

// pairHeap orders pairs by count, highest first, then by (left, right) id,
// lowest first.
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].key < h[j].key
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// MergesHeader is the first line of merges.txt, as GPT-2's and Hugging
// Face's files start.
const MergesHeader = "#version: 0.2"

// WriteVocab writes vocab.json: one JSON object from token to id, in id
// order.
func (tr *Trained) WriteVocab(w io.Writer) error {
	var b strings.Builder
	b.WriteString("{")
	for id, tok := range tr.Tokens {
		if id > 0 {
			b.WriteString(",")
		}
		q, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		b.Write(q)
		b.WriteString(":")
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMerges writes merges.txt: the header, then one "a b" per line in
// rank order.
func (tr *Trained) WriteMerges(w io.Writer) error {
	var b strings.Builder
	b.WriteString(MergesHeader + "\n")
	for _, m := range tr.Merges {
		b.WriteString(m[0] + " " + m[1] + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Save writes vocab.json and merges.txt into dir, each atomically, and
// checks that [LoadBPE] reads them back.
func (tr *Trained) Save(dir string) (*BPE, error) {
	if len(tr.Tokens) == 0 {
		return nil, errors.New("tokenizer: nothing trained")
	}
	if err := atomicfile.Write(filepath.Join(dir, VocabFile), tr.WriteVocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, MergesFile), tr.WriteMerges); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return LoadBPE(dir)
}
