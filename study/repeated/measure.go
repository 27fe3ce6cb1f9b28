package repeated

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/train"
)

// runEnv is what training and measuring a run needs: its settings, its
// mixture and (after load) the evaluation sequences drawn from it once.
type runEnv struct {
	info runInfo
	mix  *data.Mixture
	T    int // positions per training sequence
	// heldOut and subset are the held-out sequences and a sample of the
	// repeated subset (nil when f = 0).
	heldOut, subset *data.Batch
	// passages [n, passLen] are the starts of the first held-out sequences
	// (after their BOS) for the copying evaluation; bos is the BOS id or -1.
	// iclTokens [n, T] are the same sequences' inputs, for the ICL score.
	passages, iclTokens []int
	passLen             int
	bos                 int
	params              int
	ctxFree             float64
}

// newRunEnv resolves run r's settings and builds its mixture; load reads
// the evaluation sequences.
func newRunEnv(s Study, r Run) (*runEnv, error) {
	dc := s.DataConfig(r)
	mix, err := data.NewMixtureFrom(dc)
	if err != nil {
		return nil, err
	}
	mc, err := s.ModelConfig(r, mix.Vocab())
	if err != nil {
		return nil, err
	}
	if mc.DVocab < mix.Vocab() {
		return nil, fmt.Errorf("model.d_vocab %d is smaller than the data's vocabulary %d", mc.DVocab, mix.Vocab())
	}
	e := &runEnv{info: runInfo{Run: r, Model: mc, Data: dc, Train: s.TrainConfig(r), Eval: s.Eval}, mix: mix,
		params: NonEmbeddingParams(mc), bos: -1}
	e.T = e.info.Train.SeqLen
	if e.T == 0 {
		e.T = mc.NCtx
	}
	if e.T > mc.NCtx {
		return nil, fmt.Errorf("train.seq_len %d exceeds the model's n_ctx %d", e.T, mc.NCtx)
	}
	// The copying passages are held-out text, after the BOS that starts
	// every synthetic sequence: one BOS and k copies of L tokens fill n_ctx.
	start := 0
	if dc.Kind == data.KindSynthetic {
		e.bos, start = dc.Synthetic.BOS, 1
	}
	k := s.Eval.Copies
	e.passLen = (mc.NCtx + 1) / k // k·L tokens, k·L-1 positions
	if start == 1 {
		e.passLen = mc.NCtx / k // BOS + k·L tokens, k·L positions
	}
	if e.passLen < 2 || e.passLen > e.T+1-start {
		return nil, fmt.Errorf("eval.copies %d: passages of %d tokens do not fit a context of %d", k, e.passLen, mc.NCtx)
	}
	return e, nil
}

// load reads the evaluation sequences: the held-out set, a sample of the
// repeated subset, and from the first held-out sequences the copying
// passages and the ICL prompts.
func (e *runEnv) load() error {
	ev := e.info.Eval
	var err error
	if e.heldOut, err = readSeqs(e.mix.HeldOut(), ev.HeldOut, e.T); err != nil {
		return fmt.Errorf("held-out set: %w", err)
	}
	if e.info.Run.Fraction > 0 {
		if e.subset, err = readSeqs(e.mix.SubsetSource(), min(ev.SubsetSample, e.mix.Subset()), e.T); err != nil {
			return fmt.Errorf("repeated subset: %w", err)
		}
	}
	start := 0
	if e.bos >= 0 {
		start = 1
	}
	n := min(ev.Passages, ev.HeldOut)
	for i := range n {
		e.passages = append(e.passages, e.heldOut.Row(i)[start:start+e.passLen]...)
	}
	e.iclTokens = e.heldOut.Inputs()[:n*e.T]
	e.ctxFree = unigramLoss(e.heldOut.Targets())
	return nil
}

// readSeqs reads the first n sequences of src, T+1 tokens each.
func readSeqs(src data.Source, n, T int) (*data.Batch, error) {
	b := data.NewBatch(n, T)
	return b, src.Next(b)
}

// unigramLoss is the entropy of the frequencies of tokens: for the
// predicted tokens of the held-out set, the loss of the best model that
// ignores context, which a model's gain from context is measured against.
func unigramLoss(tokens []int) float64 {
	var count []int // by token id, so that the sum runs in a fixed order
	for _, t := range tokens {
		for t >= len(count) {
			count = append(count, 0)
		}
		count[t]++
	}
	var h float64
	for _, c := range count {
		if c == 0 {
			continue
		}
		p := float64(c) / float64(len(tokens))
		h -= p * math.Log(p)
	}
	return h
}

// meanLoss is the mean next-token loss of m on the sequences of b.
func meanLoss(m *models.Model, b *data.Batch) (float64, error) {
	const chunk = 32
	T := b.T
	tok, tgt := make([]int, 0, chunk*T), make([]int, 0, chunk*T)
	var sum float64
	for i := 0; i < b.B; i += chunk {
		B := min(chunk, b.B-i)
		tok, tgt = tok[:0], tgt[:0]
		for r := i; r < i+B; r++ {
			row := b.Row(r)
			tok, tgt = append(tok, row[:T]...), append(tgt, row[1:]...)
		}
		p, err := m.Forward(tok, B, T, tgt, &models.Options{NoGrad: true})
		if err != nil {
			return 0, err
		}
		sum += float64(p.Loss) * float64(B)
		p.Release()
	}
	return sum / float64(b.B), nil
}

// measure takes every measurement of one checkpoint.
func (e *runEnv) measure(cp train.Checkpoint, tokens int64, trainLoss *float64) (Row, error) {
	m, err := models.Load(cp.Dir)
	if err != nil {
		return Row{}, err
	}
	c := m.Config
	r := e.info.Run
	row := Row{Run: r.ID, Fraction: r.Fraction, Epochs: r.Epochs, Size: r.Size, Arch: r.Arch,
		NLayers: c.NLayers, AttnOnly: c.AttnOnly, DModel: c.DModel, NHeads: c.NHeads, Params: e.params, Seed: r.Seed,
		RepeatedShare: e.mix.RepeatedShare(), SubsetSequences: e.mix.Subset(), ContextFreeLoss: e.ctxFree,
		Step: cp.Step, Tokens: tokens, TrainLoss: trainLoss}
	if r.Fraction == 0 {
		row.SubsetSequences = 0
	}
	if row.TestLoss, err = meanLoss(m, e.heldOut); err != nil {
		return Row{}, fmt.Errorf("test loss: %w", err)
	}
	if e.subset != nil {
		l, err := meanLoss(m, e.subset)
		if err != nil {
			return Row{}, fmt.Errorf("repeated-subset loss: %w", err)
		}
		row.RepeatedLoss = &l
	}
	n := len(e.passages) / e.passLen
	cl, err := probes.CopyLosses(m, e.passages, n, e.passLen, e.info.Eval.Copies, e.bos)
	if err != nil {
		return Row{}, err
	}
	row.CopyLoss, row.CopyLossByCopy = cl.Loss, cl.ByCopy
	icl, err := probes.ICLScore(m, e.iclTokens, n, e.T)
	if err != nil {
		return Row{}, err
	}
	row.ICLScore = icl.Score
	hs, err := probes.Heads(m, probes.HeadOptions{Repeat: probes.RepeatOptions{Batch: e.info.Eval.Prompts, Seed: r.Seed}})
	if err != nil {
		return Row{}, err
	}
	row.PrefixMatching, row.Copying = hs.PrefixMatching, hs.Copying
	row.InductionLoss = hs.InductionLoss.Loss
	row.PrefixMax = math.Inf(-1)
	for l, hs := range row.PrefixMatching {
		for h, v := range hs {
			if v > row.PrefixMax {
				row.PrefixMax, row.PrefixMaxHead = v, models.Head{Layer: l, Head: h}.String()
			}
		}
	}
	return row, row.check()
}

// check refuses non-finite measurements, which JSON cannot hold and which
// mean the run diverged.
func (r Row) check() error {
	vals := []float64{r.TestLoss, r.CopyLoss, r.InductionLoss, r.ICLScore, r.PrefixMax}
	if r.RepeatedLoss != nil {
		vals = append(vals, *r.RepeatedLoss)
	}
	for _, g := range [][][]float64{r.PrefixMatching, r.Copying} {
		for _, l := range g {
			vals = append(vals, l...)
		}
	}
	vals = append(vals, r.CopyLossByCopy...)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("step %d: a measurement is %v", r.Step, v)
		}
	}
	return nil
}

// measureAll measures every checkpoint of the run in rd, reusing the rows of
// measure.jsonl (appended as each checkpoint is done, so an interrupted
// measurement resumes), and returns them by step.
func (e *runEnv) measureAll(ctx context.Context, rd string) ([]Row, error) {
	cps, err := train.Checkpoints(rd)
	if err != nil {
		return nil, err
	}
	ms, err := train.ReadMetrics(filepath.Join(rd, train.MetricsFile))
	if err != nil {
		return nil, err
	}
	byStep := map[int]train.Metrics{}
	for _, m := range ms {
		byStep[m.Step] = m
	}
	cachePath := filepath.Join(rd, MeasureFile)
	done := map[int]Row{}
	for _, r := range readRowsLenient(cachePath) {
		done[r.Step] = r
	}
	f, err := os.OpenFile(cachePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	for _, cp := range cps {
		if row, ok := done[cp.Step]; ok {
			rows = append(rows, row)
			continue
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", train.ErrInterrupted, ctx.Err())
		}
		mt := byStep[cp.Step]
		row, err := e.measure(cp, int64(cp.Step)*int64(e.info.Train.BatchSize)*int64(e.T), mt.Loss)
		if err != nil {
			return nil, fmt.Errorf("measuring %s: %w", cp.Dir, err)
		}
		line, err := json.Marshal(row)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Step < rows[j].Step })
	return rows, nil
}

// readRowsLenient reads a JSONL file of rows, skipping lines that do not
// parse (a torn last line after a crash).
func readRowsLenient(path string) []Row {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []Row
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r Row
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}
