package models

import (
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/tensor"
)

// Prediction is one candidate next token: its id, its text (when a tokenizer names it), its
// logit and its probability under the softmax of the whole row.
type Prediction struct {
	Token int     `json:"token"`
	Text  string  `json:"text,omitempty"`
	Logit float32 `json:"logit"`
	Prob  float64 `json:"prob"`
}

// TopPredictions returns the k most likely tokens of one row of logits [vocab], most likely
// first (ties by id), labelled with tok (nil: ids only). k is clamped to [1, vocab]. The
// probabilities are computed in float64, so that small ones keep their digits.
func TopPredictions(row []float32, k int, tok tokenizer.Tokenizer) []Prediction {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	lse := tensor.LogSumExp(row)
	k = min(max(k, 1), len(row))
	out := make([]Prediction, k)
	for i := range out {
		t := idx[i]
		out[i] = Prediction{Token: t, Logit: row[t], Prob: math.Exp(float64(row[t]) - lse)}
		if tok != nil {
			out[i].Text = tok.Decode([]int{t})
		}
	}
	return out
}
