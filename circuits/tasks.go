package circuits

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models/tokenizer"
)

// InductionTask makes pairs for induction on repeated random tokens: clean
// is [BOS] + r + r[:n-1] with r n tokens drawn uniformly from [1, vocab),
// so at the last position an induction head predicts r[n-1]; corrupted
// replaces the first copy by fresh tokens r' (r'[i] != r[i]), so there is
// nothing to copy. Answer is r[n-1], Wrong r'[n-1]. bos < 0 leaves BOS out.
type InductionTask struct {
	Pairs int    // default 32
	Len   int    // n, the repeated span, default 10
	BOS   int    // default 0; negative: none
	Seed  uint64 // pairs are a function of the seed
}

// Generate returns the task's pairs for a model with this vocabulary and
// context.
func (t InductionTask) Generate(vocab, nCtx int) ([]Pair, error) {
	if t.Pairs <= 0 {
		t.Pairs = 32
	}
	if t.Len <= 0 {
		t.Len = 10
	}
	n := t.Len
	if n > nCtx {
		return nil, fmt.Errorf("circuits: induction prompts of a %d-token span exceed the context %d", n, nCtx)
	}
	T := 2*n - 1
	if t.BOS >= 0 {
		T++
	}
	if T > nCtx {
		return nil, fmt.Errorf("circuits: induction prompts of %d tokens exceed the context %d", T, nCtx)
	}
	if vocab < 3 || t.BOS >= vocab {
		return nil, fmt.Errorf("circuits: vocabulary %d too small for induction prompts (BOS %d)", vocab, t.BOS)
	}
	// Each pair holds two prompts of T tokens (and the pair itself).
	if err := memory.Check(float64(t.Pairs) * float64(2*T*8+64)); err != nil {
		return nil, fmt.Errorf("circuits: %d induction pairs %w", t.Pairs, err)
	}
	out := make([]Pair, t.Pairs)
	for i := range out {
		rng := seed.New(seed.Derive(t.Seed, uint64(i), "induction pair"))
		draw := func() int { return 1 + rng.IntN(vocab-1) }
		r, r2 := make([]int, n), make([]int, n)
		for j := range r {
			r[j] = draw()
			for r2[j] = draw(); r2[j] == r[j]; r2[j] = draw() {
			}
		}
		var cl, co []int
		if t.BOS >= 0 {
			cl, co = []int{t.BOS}, []int{t.BOS}
		}
		cl = append(append(cl, r...), r[:n-1]...)
		co = append(append(co, r2...), r[:n-1]...)
		out[i] = Pair{Clean: cl, Corrupted: co, Answer: r[n-1], Wrong: r2[n-1]}
	}
	return out, nil
}

// taskRecord is one line of a task file: prompts as text (through the
// model's tokenizer) or as token ids, answers as one-token text or an id.
type taskRecord struct {
	Clean     json.RawMessage `json:"clean"`
	Corrupted json.RawMessage `json:"corrupted"`
	Answer    json.RawMessage `json:"answer"`
	Wrong     json.RawMessage `json:"wrong"`
}

// ReadTasks reads pairs from JSON lines {"clean", "corrupted", "answer",
// "wrong"}: prompts are strings, encoded with tok, or arrays of token ids;
// answers are strings that tok encodes as exactly one token, or ids. tok
// may be nil when every field is given as ids. Blank lines are skipped.
func ReadTasks(r io.Reader, tok tokenizer.Tokenizer) ([]Pair, error) {
	var out []Pair
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec taskRecord
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("circuits: task line %d: %w", line, err)
		}
		var p Pair
		var err error
		if p.Clean, err = promptField(rec.Clean, tok, "clean"); err == nil {
			if p.Corrupted, err = promptField(rec.Corrupted, tok, "corrupted"); err == nil {
				if p.Answer, err = tokenField(rec.Answer, tok, "answer"); err == nil {
					p.Wrong, err = tokenField(rec.Wrong, tok, "wrong")
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("circuits: task line %d: %w", line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("circuits: reading tasks: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("circuits: the task file has no records")
	}
	return out, nil
}

func promptField(raw json.RawMessage, tok tokenizer.Tokenizer, name string) ([]int, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("no %q", name)
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil {
		return ids, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%q is neither text nor a list of token ids", name)
	}
	if tok == nil {
		return nil, fmt.Errorf("%q is text but the model has no tokenizer: give token ids", name)
	}
	return tokenizer.EncodeSpecial(tok, s), nil
}

func tokenField(raw json.RawMessage, tok tokenizer.Tokenizer, name string) (int, error) {
	if len(raw) == 0 {
		return 0, fmt.Errorf("no %q", name)
	}
	var id int
	if json.Unmarshal(raw, &id) == nil {
		return id, nil
	}
	ids, err := promptField(raw, tok, name)
	if err != nil {
		return 0, err
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("%q encodes to %d tokens, want one", name, len(ids))
	}
	return ids[0], nil
}
