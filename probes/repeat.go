package probes

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/stats"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/tensor"
)

// RepeatOptions choose the prompts [BOS] + r + r (+ r ...) with r uniform
// random tokens (data.RepeatedBatch) on which prefix matching, copying and
// induction loss are measured (Olsson et al. 2022). Zero fields take defaults
// from the model: Vocab its d_vocab, Len min(25, (n_ctx-1)/Repeats), Repeats 2,
// Batch 32. Use MinToken, MaxToken and Exclude to avoid a model's commonest
// and rarest tokens, as Olsson et al. do.
type RepeatOptions struct {
	data.RepeatedConfig
	// Batch is the number of prompts.
	Batch int `json:"batch"`
	// Seed draws the prompts.
	Seed uint64 `json:"seed"`
}

// resolve fills the defaults from m and checks that the prompts fit it.
func (o RepeatOptions) resolve(c models.Config) (RepeatOptions, error) {
	if o.Vocab == 0 {
		o.Vocab = c.DVocab
	}
	if o.Repeats == 0 {
		o.Repeats = 2
	}
	bos := 1
	if o.NoBOS {
		bos = 0
	}
	if o.Len == 0 {
		o.Len = min(25, (c.NCtx-bos)/o.Repeats)
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	o.MaxLen = o.Len
	o.RepeatedConfig = o.RepeatedConfig.WithDefaults()
	switch {
	case o.Batch < 0:
		return o, fmt.Errorf("probes: repeated prompts: batch must be positive, got %d", o.Batch)
	case o.Vocab > c.DVocab:
		return o, fmt.Errorf("probes: repeated prompts: vocabulary %d exceeds the model's d_vocab %d", o.Vocab, c.DVocab)
	case o.Len <= 0:
		return o, fmt.Errorf("probes: repeated prompts: the context n_ctx=%d cannot hold %d copies of r", c.NCtx, o.Repeats)
	case o.SeqLen() > c.NCtx:
		return o, fmt.Errorf("probes: repeated prompts of %d tokens (BOS + %d×%d) exceed the context n_ctx=%d: use a shorter r",
			o.SeqLen(), o.Repeats, o.Len, c.NCtx)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("probes: %w", err)
	}
	// One pass over every prompt at once: refuse a batch that cannot fit
	// before drawing it.
	if err := memory.Check(c.ForwardBytes(o.Batch, o.SeqLen())); err != nil {
		return o, fmt.Errorf("probes: repeated prompts: batch %d %w", o.Batch, err)
	}
	return o, nil
}

// repeatRun is one forward pass over the repeated prompts, with what every
// repeat-based score needs.
type repeatRun struct {
	o        RepeatOptions
	tokens   []int // [B,S]: whole sequences
	B, S     int
	start    int // 1 with BOS, else 0
	patterns []*tensor.Tensor
	values   []*tensor.Tensor // hook_v per layer, when asked for
	losses   []float32        // [B,S]: loss predicting token p+1; 0 at the last position
}

func runRepeated(m *models.Model, o RepeatOptions, values bool) (*repeatRun, error) {
	if m == nil {
		return nil, errors.New("probes: no model")
	}
	o, err := o.resolve(m.Config)
	if err != nil {
		return nil, err
	}
	b, err := data.RepeatedBatch(o.RepeatedConfig, o.Batch, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	// The model reads whole rows ([BOS] + r + r, SeqLen tokens); the last
	// position has no target.
	r := &repeatRun{o: o, tokens: b.Tokens, B: b.B, S: b.T + 1}
	if !o.NoBOS {
		r.start = 1
	}
	targets := make([]int, len(r.tokens))
	for i := range targets {
		if (i+1)%r.S == 0 {
			targets[i] = -1
		} else {
			targets[i] = r.tokens[i+1]
		}
	}
	names := []string{"blocks.*.attn.hook_pattern"}
	if values {
		names = append(names, "blocks.*.attn.hook_v")
	}
	pass, cache, err := hooks.Run(m, r.tokens, r.B, r.S, hooks.Spec{Targets: targets, Cache: hooks.MustFilter(names...)})
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	r.losses = append([]float32(nil), pass.Losses.Data...)
	for l := range m.Config.NLayers {
		p, err := cache.Lookup(patternName(l))
		if err != nil {
			return nil, err
		}
		r.patterns = append(r.patterns, p)
		if values {
			v, err := cache.Lookup(models.ActName("v", l))
			if err != nil {
				return nil, err
			}
			r.values = append(r.values, v)
		}
	}
	return r, nil
}

// PrefixMatching is the prefix-matching score of every head, [layer][head]
// (Olsson et al. 2022, "In-context Learning and Induction Heads"): on the
// prompts [BOS] + r + r (+ r ...) of o, the mean over every token of every
// repeat of the attention it pays to the token after its earlier
// occurrences. Induction heads score near 1, other heads near 0; 0.4 is a
// common threshold. r must fit the model's context with the BOS.
func PrefixMatching(m *models.Model, o RepeatOptions) ([][]float64, error) {
	r, err := runRepeated(m, o, false)
	if err != nil {
		return nil, err
	}
	return r.prefixMatching()
}

func (r *repeatRun) prefixMatching() ([][]float64, error) {
	out := make([][]float64, len(r.patterns))
	for l, p := range r.patterns {
		s, err := PrefixMatchingPatterns(p, r.o.Len, r.start)
		if err != nil {
			return nil, err
		}
		out[l] = s
	}
	return out, nil
}

// PrefixMatchingPatterns computes the prefix-matching score of each head
// from one layer's patterns [B,H,S,S] on sequences whose copies of r (length
// n) start at position start (1 after a BOS) and repeat to the end of the
// sequence. A query q in copy k >= 1 holds the token of positions q-n,
// q-2n, ...; its score is the attention paid to the positions just after
// those, q-n+1, q-2n+1, ... The score is the mean over all such queries and
// all B sequences (Olsson et al. 2022).
func PrefixMatchingPatterns(patterns *tensor.Tensor, n, start int) ([]float64, error) {
	if patterns == nil || len(patterns.Shape) != 4 || patterns.Shape[2] != patterns.Shape[3] {
		return nil, fmt.Errorf("probes: prefix matching: patterns must be [batch,head,query,key], got %s", shapeOf(patterns))
	}
	B, H, S := patterns.Shape[0], patterns.Shape[1], patterns.Shape[2]
	if n <= 0 || start < 0 || start+2*n > S {
		return nil, fmt.Errorf("probes: prefix matching: sequences of %d positions cannot hold two copies of r (|r| = %d) from position %d", S, n, start)
	}
	scores := make([]float64, H)
	queries := 0
	for b := range B {
		for h := range H {
			A := patterns.Data[(b*H+h)*S*S : (b*H+h+1)*S*S]
			for q := start + n; q < S; q++ {
				var s float64
				for src := q - n; src >= start; src -= n {
					s += float64(A[q*S+src+1])
				}
				scores[h] += s
			}
		}
		queries += S - start - n
	}
	for h := range scores {
		scores[h] /= float64(queries)
	}
	return scores, nil
}

// Copying is the copying score of every head, [layer][head] (Olsson et al.
// 2022): does the head, when it attends to a token, raise that token's logit
// more than the others? For every non-BOS position of the prompts of o, the
// head's output were it to attend to that position alone (its value vector
// there through W_O) is mapped to logits by the direct path (the final
// LayerNorm's centring and gain, then W_U; its scale cancels below); the mean
// logit is subtracted, a ReLU keeps the raised logits, and the score is the
// share of the raised logits that falls on the attended token itself,
// averaged over positions. A head that copies scores near 1, one that
// suppresses what it attends to scores 0, and a random head about 2/d_vocab.
// The attention pattern plays no part: the score measures the OV circuit on
// real activations.
func Copying(m *models.Model, o RepeatOptions) ([][]float64, error) {
	r, err := runRepeated(m, o, true)
	if err != nil {
		return nil, err
	}
	return r.copying(m)
}

func (r *repeatRun) copying(m *models.Model) ([][]float64, error) {
	c := m.Config
	C, H, D, V := c.DModel, c.NHeads, c.DHead, c.DVocab
	WU, err := m.Weight("W_U", 0) // [C,V]
	if err != nil {
		return nil, err
	}
	var lnw []float32
	centre := c.HasLN() // RMSNorm scales without centring
	if c.HasNorm() {
		w, err := m.Weight("ln_final.w", 0)
		if err != nil {
			return nil, err
		}
		lnw = w.Data
	}
	// Source positions: every position after the BOS.
	var rows []int // flat (b, pos) index
	for b := range r.B {
		for p := r.start; p < r.S; p++ {
			rows = append(rows, b*r.S+p)
		}
	}
	N := len(rows)
	vh := make([]float32, N*D)
	out := make([]float32, N*C)
	logits := make([]float32, N*V)
	scores := make([][]float64, c.NLayers)
	for l := range c.NLayers {
		WO, err := m.Weight("W_O", l) // [H,D,C]
		if err != nil {
			return nil, err
		}
		v := r.values[l] // [B,S,K,D]: head h reads key/value head h/(H/K)
		K := c.NKVHeads
		scores[l] = make([]float64, H)
		for h := range H {
			kv := h / (H / K)
			for i, row := range rows {
				copy(vh[i*D:(i+1)*D], v.Data[(row*K+kv)*D:(row*K+kv+1)*D])
			}
			tensor.Gemm(false, false, N, C, D, 1, vh, D, WO.Data[h*D*C:], C, 0, out, C)
			if lnw != nil {
				for i := range N {
					o := out[i*C : (i+1)*C]
					var mean float64
					for _, x := range o {
						mean += float64(x)
					}
					mu := float32(mean / float64(C))
					if !centre {
						mu = 0
					}
					for j := range o {
						o[j] = (o[j] - mu) * lnw[j]
					}
				}
			}
			tensor.Gemm(false, false, N, V, C, 1, out, C, WU.Data, V, 0, logits, V)
			var sum float64
			for i, row := range rows {
				sum += RaisedShare(logits[i*V:(i+1)*V], r.tokens[row])
			}
			scores[l][h] = sum / float64(N)
		}
	}
	return scores, nil
}

// RaisedShare is the copying measure of one logit vector (Olsson et al.
// 2022): subtract the mean logit, keep the positive part (ReLU), and return
// the share of it on token tok. A vector with nothing raised gives 0.
func RaisedShare(logits []float32, tok int) float64 {
	if tok < 0 || tok >= len(logits) {
		return 0
	}
	var mean float64
	for _, x := range logits {
		mean += float64(x)
	}
	mean /= float64(len(logits))
	var total float64
	for _, x := range logits {
		total += max(float64(x)-mean, 0)
	}
	if total == 0 {
		return 0
	}
	return max(float64(logits[tok])-mean, 0) / total
}

// InductionLoss is the loss of a model on repeated random tokens
// (TransformerLens's evals.induction_loss, generalized to more copies).
type InductionLoss struct {
	// Loss is the mean loss predicting the tokens of every repeat of r, except
	// the first token of the first repeat (which nothing in context predicts):
	// TransformerLens's loss[:, |r|+1:] for [BOS] + r + r.
	Loss float64 `json:"loss"`
	// FirstCopy is the mean loss predicting the tokens of the first copy of r,
	// which no context can predict: about ln(vocabulary) for a model that
	// learned the unigram statistics of uniform tokens. Loss well below it is
	// in-context copying.
	FirstCopy float64 `json:"first_copy_loss"`
	// PerPosition is the loss at each position p (predicting token p+1),
	// averaged over the prompts: [SeqLen-1].
	PerPosition []float64 `json:"per_position"`
	// Len, Repeats, Batch and BOS describe the prompts.
	Len     int  `json:"len"`
	Repeats int  `json:"repeats"`
	Batch   int  `json:"batch"`
	BOS     bool `json:"bos"`
}

// InductionLosses runs m on the repeated prompts of o and returns the
// induction loss and its per-position curve.
func InductionLosses(m *models.Model, o RepeatOptions) (*InductionLoss, error) {
	r, err := runRepeated(m, o, false)
	if err != nil {
		return nil, err
	}
	return r.inductionLoss(), nil
}

func (r *repeatRun) inductionLoss() *InductionLoss {
	n := r.o.Len
	il := &InductionLoss{Len: n, Repeats: r.o.Repeats, Batch: r.B, BOS: !r.o.NoBOS, PerPosition: make([]float64, r.S-1)}
	for b := range r.B {
		for p := range r.S - 1 {
			il.PerPosition[p] += float64(r.losses[b*r.S+p]) / float64(r.B)
		}
	}
	// Position p predicts token p+1. The first copy is tokens start..start+n-1
	// (p < start+n-1); the first token of the second copy (p = start+n-1) is
	// unpredictable; the rest is induction.
	il.FirstCopy = stats.Mean(il.PerPosition[:r.start+n-1])
	il.Loss = stats.Mean(il.PerPosition[r.start+n:])
	return il
}

// RepeatFor returns the default repeated prompts (32 of them, seed 1) for a model trained on
// dc (nil when unknown) with vocabulary vocab (0: the model's): r is drawn from the synthetic
// language's middle tokens, as Olsson et al. avoid the commonest and rarest ones; from the
// reference recipe's the same way but without BOS; and from the repeated data's own token
// range, exclusions and BOS.
func RepeatFor(dc *data.Config, vocab int) RepeatOptions {
	o := RepeatOptions{Batch: 32, Seed: 1}
	switch {
	case dc != nil && dc.Kind == data.KindSynthetic:
		o.RepeatedConfig = dc.Synthetic.EvalRepeated(0, 2)
		o.RepeatedConfig.Len = 0
	case dc != nil && dc.Kind == data.KindReference:
		// Trained without BOS: measured on r + r, as the recipe's PyTorch
		// twin (scripts/induction_reference.py) measures it.
		o.RepeatedConfig = dc.Reference.EvalRepeated(0, 2)
		o.RepeatedConfig.Len = 0
	case dc != nil && dc.Kind == data.KindRepeated:
		r := dc.Repeated.WithDefaults()
		o.MinToken, o.MaxToken, o.Exclude, o.BOS, o.NoBOS = r.MinToken, r.MaxToken, r.Exclude, r.BOS, r.NoBOS
	}
	o.Vocab = vocab
	return o
}

// RepeatForRun is RepeatFor with the data config of the training run in dir (its run.yaml),
// or the defaults when dir holds none.
func RepeatForRun(dir string, vocab int) RepeatOptions {
	c, err := run.ReadConfig(dir)
	if err != nil {
		return RepeatFor(nil, vocab)
	}
	return RepeatFor(&c.Data, vocab)
}

// CheckpointRun returns the run directory of a checkpoint directory RUN/checkpoints/step-N.
func CheckpointRun(checkpoint string) string {
	return filepath.Dir(filepath.Dir(filepath.Clean(checkpoint)))
}

// HeadsOfCheckpoint scores the heads of m, loaded from checkpoint, with Heads on the default
// prompts of its run (RepeatForRun of CheckpointRun): the one measurement that the heads,
// attention and track pages and the demo's summary all show, so that a head's score reads the
// same on each.
func HeadsOfCheckpoint(m *models.Model, checkpoint string) (*HeadScores, error) {
	return Heads(m, HeadOptions{Repeat: RepeatForRun(CheckpointRun(checkpoint), m.Config.DVocab)})
}
