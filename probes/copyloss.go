package probes

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/models"
)

// CopyLoss is the copying evaluation of Hernandez et al. 2022 ("Scaling
// Laws and Interpretability of Learning from Repeated Data", section 4): a
// passage of natural (held-out) text repeated k times in context, and the
// loss on the repeats. Unlike induction loss on uniform random tokens, the
// passages come from the training distribution, so the first copy shows what
// the model predicts without copying and the later ones what copying adds.
type CopyLoss struct {
	// Loss is the mean loss on copies 2..k, except the first token of copy 2
	// (nothing in context predicts it).
	Loss float64 `json:"loss"`
	// ByCopy[c] is the mean loss on copy c+1 (c = 0 is the first copy, whose
	// first token is not predicted); ByCopy[1] leaves out its first token
	// as Loss does.
	ByCopy []float64 `json:"by_copy"`
	// Len is the passage length, Copies k, Batch the number of passages; BOS
	// is the token put first (-1: none).
	Len    int `json:"len"`
	Copies int `json:"copies"`
	Batch  int `json:"batch"`
	BOS    int `json:"bos"`
}

// CopyLosses runs m on passages [B, L] (row-major) each repeated k times,
// after a BOS token when bos >= 0, and returns the loss on the copies. The
// prompts are 1 + k·L tokens at most (k·L without BOS); they must fit the
// model's context.
func CopyLosses(m *models.Model, passages []int, B, L, k, bos int) (*CopyLoss, error) {
	if m == nil {
		return nil, errors.New("probes: copy loss: no model")
	}
	if B <= 0 || L < 2 || len(passages) != B*L {
		return nil, fmt.Errorf("probes: copy loss: %d tokens are not %d passages of %d (at least 2 tokens each)", len(passages), B, L)
	}
	if k < 2 {
		return nil, fmt.Errorf("probes: copy loss: %d copies; the evaluation needs at least 2", k)
	}
	start := 0
	if bos >= 0 {
		start = 1
	}
	S := start + k*L // tokens per sequence
	T := S - 1       // positions with a target
	if T > m.Config.NCtx {
		return nil, fmt.Errorf("probes: copy loss: %d copies of %d tokens need %d positions; the model's context is %d", k, L, T, m.Config.NCtx)
	}
	tok, tgt := make([]int, B*T), make([]int, B*T)
	seq := make([]int, S)
	for b := range B {
		if start == 1 {
			seq[0] = bos
		}
		p := passages[b*L : (b+1)*L]
		for c := range k {
			copy(seq[start+c*L:], p)
		}
		copy(tok[b*T:], seq[:T])
		copy(tgt[b*T:], seq[1:])
	}
	pass, err := m.Forward(tok, B, T, tgt, &models.Options{NoGrad: true})
	if err != nil {
		return nil, fmt.Errorf("probes: copy loss: %w", err)
	}
	defer pass.Release()
	// Position q predicts token q+1; token t of copy c sits at start+c·L+t.
	res := &CopyLoss{Len: L, Copies: k, Batch: B, BOS: bos, ByCopy: make([]float64, k)}
	if bos < 0 {
		res.BOS = -1
	}
	var sum float64
	var n int
	for c := range k {
		var cs float64
		var cn int
		for t := range L {
			if (c == 0 || c == 1) && t == 0 {
				continue // unpredictable: the first token, and the first of copy 2
			}
			q := start + c*L + t - 1
			if q < 0 {
				continue
			}
			for b := range B {
				cs += float64(pass.Losses.Data[b*T+q])
			}
			cn += B
		}
		res.ByCopy[c] = cs / float64(max(cn, 1))
		if c >= 1 {
			sum += cs
			n += cn
		}
	}
	res.Loss = sum / float64(n)
	return res, nil
}
