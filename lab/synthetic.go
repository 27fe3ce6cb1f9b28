package lab

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/seed"
)

// Comparison is one labelled pair: the sample a labeller preferred and the
// one they rejected, as token ids. On the synthetic task the true rewards
// are known (HasTrue), so the true probability that the chosen sample wins
// is sigmoid(Beta·(TrueChosen − TrueRejected)).
type Comparison struct {
	Chosen, Rejected []int
	// TrueChosen and TrueRejected are the hidden rewards, valid when HasTrue.
	TrueChosen, TrueRejected float64
	// PTrue is the true probability that Chosen beats Rejected (HasTrue).
	PTrue   float64
	HasTrue bool
}

// SyntheticConfig configures the built-in preference task. A sequence is
// BOS, a first half of Len/2 uniform tokens, and a second half in which each
// position continues the first half's repeat (copies the token Len/2
// positions back) with a probability q drawn uniformly per sequence, and is
// otherwise uniform. Its true reward is
//
//	r(x) = ClassWeight·(n_good − n_bad)/Len + CopyWeight·(copied positions)/(Len/2)
//
// where a token t ≥ 1 is good when (t−1+ClassShift) mod 3 = 0 and bad when
// it is 1:
// a weighted count of token classes, plus a term that needs context (whether
// the second half repeats the first). Two independent sequences are
// compared, and the label is a Bradley-Terry draw: the first is chosen with
// probability sigmoid(Beta·(r_a − r_b)), so label noise is known.
type SyntheticConfig struct {
	// Vocab is the number of token ids, BOS (0) included (default 24).
	Vocab int `json:"vocab" mapstructure:"vocab" yaml:"vocab"`
	// Len is the number of tokens after BOS, even (default 16).
	Len int `json:"len" mapstructure:"len" yaml:"len"`
	// ClassWeight and CopyWeight scale the two terms (defaults 8 and 4).
	ClassWeight float64 `json:"class_weight" mapstructure:"class_weight" yaml:"class_weight"`
	CopyWeight  float64 `json:"copy_weight" mapstructure:"copy_weight" yaml:"copy_weight"`
	// ClassShift relabels the token classes (0, the default, 1 or 2): tasks
	// that differ only in it share the context term and the counting but
	// not which tokens are good, as a broad comparison set for
	// preference-model pre-training differs from the target task.
	ClassShift int `json:"class_shift,omitempty" mapstructure:"class_shift" yaml:"class_shift,omitempty"`
	// Beta is the Bradley-Terry inverse temperature of the labeller
	// (default 1; larger means less label noise).
	Beta float64 `json:"beta" mapstructure:"beta" yaml:"beta"`
	// Seed fixes the draws; the training and evaluation sets are disjoint
	// streams of it.
	Seed uint64 `json:"seed" mapstructure:"seed" yaml:"seed"`
}

// WithDefaults fills the fields left at zero.
func (c SyntheticConfig) WithDefaults() SyntheticConfig {
	if c.Vocab == 0 {
		c.Vocab = 24
	}
	if c.Len == 0 {
		c.Len = 16
	}
	if c.ClassWeight == 0 {
		c.ClassWeight = 8
	}
	if c.CopyWeight == 0 {
		c.CopyWeight = 4
	}
	if c.Beta == 0 {
		c.Beta = 1
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults).
func (c SyntheticConfig) Validate() error {
	var errs []error
	if c.Vocab < 4 {
		errs = append(errs, fmt.Errorf("vocab must be at least 4, got %d", c.Vocab))
	}
	if c.ClassShift < 0 || c.ClassShift > 2 {
		errs = append(errs, fmt.Errorf("class_shift must be 0, 1 or 2, got %d", c.ClassShift))
	}
	if c.Len < 2 || c.Len%2 != 0 {
		errs = append(errs, fmt.Errorf("len must be even and at least 2, got %d", c.Len))
	}
	if !(c.Beta > 0) || math.IsInf(c.Beta, 0) {
		errs = append(errs, fmt.Errorf("beta must be positive and finite, got %g", c.Beta))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: synthetic task: %w", err)
	}
	return nil
}

// SeqLen is the length of a synthetic sequence, BOS included.
func (c SyntheticConfig) SeqLen() int { return c.Len + 1 }

// Set names a disjoint stream of the synthetic task.
type Set string

// The synthetic task's streams.
const (
	SetTrain Set = "train"
	SetEval  Set = "eval"
)

// TrueReward is the hidden reward r(x) of a sequence (BOS first).
func (c SyntheticConfig) TrueReward(x []int) float64 {
	body := x[1:]
	h := len(body) / 2
	class := 0
	for _, t := range body {
		switch (t - 1 + c.ClassShift) % 3 {
		case 0:
			class++
		case 1:
			class--
		}
	}
	copied := 0
	for i := h; i < 2*h; i++ {
		if body[i] == body[i-h] {
			copied++
		}
	}
	return c.ClassWeight*float64(class)/float64(len(body)) + c.CopyWeight*float64(copied)/float64(h)
}

// Sequence draws the sequence with index i of a stream.
func (c SyntheticConfig) Sequence(set Set, i uint64) []int {
	r := seed.New(seed.Derive(c.Seed, i, "lab/synthetic/seq/"+string(set)))
	x := make([]int, c.SeqLen())
	h := c.Len / 2
	for j := 1; j <= h; j++ {
		x[j] = 1 + r.IntN(c.Vocab-1)
	}
	q := r.Float64()
	for j := h + 1; j <= c.Len; j++ {
		if r.Float64() < q {
			x[j] = x[j-h]
		} else {
			x[j] = 1 + r.IntN(c.Vocab-1)
		}
	}
	return x
}

// Comparisons draws n labelled comparisons of a stream: comparison i
// compares sequences 2i and 2i+1, and the label is a Bradley-Terry draw
// from their true rewards.
func (c SyntheticConfig) Comparisons(set Set, n int) []Comparison {
	out := make([]Comparison, n)
	for i := range out {
		a, b := c.Sequence(set, uint64(2*i)), c.Sequence(set, uint64(2*i+1))
		ra, rb := c.TrueReward(a), c.TrueReward(b)
		pa := sigmoid(c.Beta * (ra - rb))
		r := seed.New(seed.Derive(c.Seed, uint64(i), "lab/synthetic/label/"+string(set)))
		if r.Float64() >= pa {
			a, b, ra, rb, pa = b, a, rb, ra, 1-pa
		}
		out[i] = Comparison{Chosen: a, Rejected: b, TrueChosen: ra, TrueRejected: rb, PTrue: pa, HasTrue: true}
	}
	return out
}

// sigmoid is 1/(1+e^−x), computed without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1+e^x), computed without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
