package probes

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/models"
)

// ICL is the in-context-learning score of Olsson et al. 2022 ("In-context
// Learning and Induction Heads"): the loss at a late token minus the loss at
// an early one, averaged over prompts. Negative means later tokens, which see
// more context, are predicted better.
type ICL struct {
	Score float64 `json:"score"`
	// Early and Late are the 0-based indices of the predicted tokens: the
	// loss at Late is that of predicting token Late from tokens 0..Late-1.
	Early int `json:"early"`
	Late  int `json:"late"`
	// LossEarly and LossLate are the mean losses at those tokens.
	LossEarly float64 `json:"loss_early"`
	LossLate  float64 `json:"loss_late"`
}

// ICLPositions returns the token indices ICLScore compares for prompts of T
// tokens: Olsson et al.'s 50th and 500th tokens of a 512-token context,
// scaled to T (floor(50T/512) and floor(500T/512)), the early one at least 1.
// It fails when T is too short for two distinct positions.
func ICLPositions(T int) (early, late int, err error) {
	early = max(1, 50*T/512)
	late = min(500*T/512, T-1)
	if late <= early {
		return 0, 0, fmt.Errorf("probes: ICL score: prompts of %d tokens are too short to compare an early and a late token (need at least 3)", T)
	}
	return early, late, nil
}

// ICLScore runs m on tokens [B,T] (row-major) and returns the loss at the
// late token minus the loss at the early token of ICLPositions(T), averaged
// over the B prompts (Olsson et al. 2022). The prompts should come from the
// distribution the model was trained on, held out.
func ICLScore(m *models.Model, tokens []int, B, T int) (*ICL, error) {
	if m == nil {
		return nil, errors.New("probes: ICL score: no model")
	}
	early, late, err := ICLPositions(T)
	if err != nil {
		return nil, err
	}
	if err := m.CheckTokens(tokens, B, T); err != nil {
		return nil, fmt.Errorf("probes: ICL score: %w", err)
	}
	// The token at index k is predicted at position k-1; only the two
	// positions are needed as targets.
	targets := make([]int, len(tokens))
	for i := range targets {
		targets[i] = -1
	}
	for b := range B {
		targets[b*T+early-1] = tokens[b*T+early]
		targets[b*T+late-1] = tokens[b*T+late]
	}
	res := &ICL{Early: early, Late: late}
	// A pass holds a block's scores and pattern [n,H,T,T] and the logits
	// [n,T,V]: at a real model's context (Pythia's 2048 tokens) that is
	// gigabytes per prompt, so the prompts run a few at a time.
	for lo, per := 0, iclBatch(m.Config, T); lo < B; lo += per {
		n := min(per, B-lo)
		pass, err := m.Forward(tokens[lo*T:(lo+n)*T], n, T, targets[lo*T:(lo+n)*T], &models.Options{NoGrad: true})
		if err != nil {
			return nil, fmt.Errorf("probes: ICL score: %w", err)
		}
		for b := range n {
			res.LossEarly += float64(pass.Losses.Data[b*T+early-1]) / float64(B)
			res.LossLate += float64(pass.Losses.Data[b*T+late-1]) / float64(B)
		}
		pass.Release()
	}
	res.Score = res.LossLate - res.LossEarly
	return res, nil
}

// iclBatch is how many prompts of T tokens one pass of ICLScore takes: as
// many as keep a block's attention scores and pattern and the logits under
// 256 MiB, at least one.
func iclBatch(c models.Config, T int) int {
	c = c.WithDefaults()
	perPrompt := 4 * (2*float64(c.NHeads)*float64(T)*float64(T) + float64(T)*float64(c.DVocab))
	return max(1, int(float64(256<<20)/perPrompt))
}
