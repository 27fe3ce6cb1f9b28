package circuits

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Pair is one clean/corrupted prompt pair of a task: the metric is read at
// the last position, where the clean prompt should predict Answer and the
// corrupted one should not. Clean and Corrupted have the same length.
type Pair struct {
	Clean     []int `json:"clean"`
	Corrupted []int `json:"corrupted"`
	Answer    int   `json:"answer"`
	Wrong     int   `json:"wrong"`
}

// Metric names what edge attribution patching differentiates, read at each
// pair's last position and averaged over pairs.
type Metric string

// The metrics.
const (
	// LogitDiff is logits[answer] - logits[wrong].
	LogitDiff Metric = "logit_diff"
	// Prob is the probability of the answer.
	Prob Metric = "prob"
	// KL is the KL divergence KL(clean || run) from the clean run's
	// next-token distribution to the run's; it is 0 at the clean run.
	KL Metric = "kl"
	// Loss is the cross-entropy of the answer, -log p(answer).
	Loss Metric = "loss"
)

// Metrics lists the metrics in the order help texts show them.
var Metrics = []Metric{LogitDiff, Prob, KL, Loss}

// ParseMetric returns the metric named s.
func ParseMetric(s string) (Metric, error) {
	for _, m := range Metrics {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("circuits: unknown metric %q (want logit_diff, prob, kl or loss)", s)
}

// value returns the metric of one logit row [V] given the clean run's
// log-probabilities of the same position (for KL).
func (mt Metric) value(row []float32, cleanLogp []float64, answer, wrong int) float64 {
	switch mt {
	case LogitDiff:
		return float64(row[answer]) - float64(row[wrong])
	case Prob:
		return math.Exp(tensor.LogSoftmax(row)[answer])
	case Loss:
		return -tensor.LogSoftmax(row)[answer]
	default: // KL
		lp := tensor.LogSoftmax(row)
		var kl float64
		for i, c := range cleanLogp {
			kl += math.Exp(c) * (c - lp[i])
		}
		return kl
	}
}

// grad writes into out [V] scale times the metric's gradient with respect
// to the logit row.
func (mt Metric) grad(out, row []float32, cleanLogp []float64, answer, wrong int, scale float64) {
	switch mt {
	case LogitDiff:
		out[answer] += float32(scale)
		out[wrong] -= float32(scale)
	case Prob: // p_a (onehot_a - p)
		lp := tensor.LogSoftmax(row)
		pa := math.Exp(lp[answer])
		for i, l := range lp {
			out[i] -= float32(scale * pa * math.Exp(l))
		}
		out[answer] += float32(scale * pa)
	case Loss: // p - onehot_a
		for i, l := range tensor.LogSoftmax(row) {
			out[i] += float32(scale * math.Exp(l))
		}
		out[answer] -= float32(scale)
	default: // KL: p - p_clean
		for i, l := range tensor.LogSoftmax(row) {
			out[i] += float32(scale * (math.Exp(l) - math.Exp(cleanLogp[i])))
		}
	}
}

// Method names how edge scores are computed.
type Method string

// The methods.
const (
	// EAP is edge attribution patching (Syed et al. 2023): one clean run,
	// one corrupted run and one backward pass.
	EAP Method = "eap"
	// EAPIG is EAP with integrated gradients (Hanna et al. 2024): the
	// gradient averaged over Steps runs whose input embeddings go from the
	// corrupted ones towards the clean ones.
	EAPIG Method = "eap-ig"
)

// ParseMethod returns the method named s.
func ParseMethod(s string) (Method, error) {
	switch Method(s) {
	case EAP, EAPIG:
		return Method(s), nil
	}
	return "", fmt.Errorf("circuits: unknown method %q (want eap or eap-ig)", s)
}

// batch is a group of pairs of one length, run together.
type batch struct {
	pairs            []Pair
	T                int
	clean, corrupted []int // [B,T]
	cleanLogp        [][]float64
}

// batches checks the pairs against the model and groups them by length, at
// most size pairs per batch, in the order of first appearance.
func batches(m *models.Model, pairs []Pair, size int) ([]*batch, error) {
	if m == nil {
		return nil, errors.New("circuits: nil model")
	}
	if c := m.Config; c.NKVHeads != 0 && c.NKVHeads != c.NHeads {
		return nil, fmt.Errorf("circuits: edge attribution does not yet handle grouped-query attention (%d key/value heads for %d query heads)", c.NKVHeads, c.NHeads)
	}
	if len(pairs) == 0 {
		return nil, errors.New("circuits: no prompt pairs")
	}
	if size <= 0 {
		size = 8
	}
	V := m.Config.DVocab
	var out []*batch
	open := map[int]*batch{}
	for i, p := range pairs {
		if len(p.Clean) != len(p.Corrupted) {
			return nil, fmt.Errorf("circuits: pair %d: clean has %d tokens, corrupted %d (they must match)", i, len(p.Clean), len(p.Corrupted))
		}
		for _, s := range [][]int{p.Clean, p.Corrupted} {
			if err := m.CheckTokens(s, 1, len(s)); err != nil {
				return nil, fmt.Errorf("circuits: pair %d: %w", i, err)
			}
		}
		if p.Answer < 0 || p.Answer >= V || p.Wrong < 0 || p.Wrong >= V {
			return nil, fmt.Errorf("circuits: pair %d: answer %d or wrong %d outside the vocabulary [0,%d)", i, p.Answer, p.Wrong, V)
		}
		T := len(p.Clean)
		b := open[T]
		if b == nil || len(b.pairs) == size {
			b = &batch{T: T}
			open[T] = b
			out = append(out, b)
		}
		b.pairs = append(b.pairs, p)
		b.clean = append(b.clean, p.Clean...)
		b.corrupted = append(b.corrupted, p.Corrupted...)
	}
	return out, nil
}

// lastRow returns pair i's logit row at its last position.
func (b *batch) lastRow(logits *tensor.Tensor, i int) []float32 {
	V := logits.Shape[2]
	off := (i*b.T + b.T - 1) * V
	return logits.Data[off : off+V]
}

// metric returns the sum over the batch's pairs of the metric of a run.
func (b *batch) metric(mt Metric, logits *tensor.Tensor) float64 {
	var s float64
	for i, p := range b.pairs {
		s += mt.value(b.lastRow(logits, i), b.cleanLogp[i], p.Answer, p.Wrong)
	}
	return s
}

// senderActs runs tokens [B,T] and returns every sender's output
// [B·T][senders][C]: the input (resid_pre of block 0), each head's result,
// each MLP's output. hook, if set, runs first at every point.
func (g *Graph) senderActs(m *models.Model, tokens []int, B, T int, hook models.HookFunc) ([]float32, *tensor.Tensor, error) {
	C, S := g.Config.DModel, len(g.senders)
	acts := make([]float32, B*T*S*C)
	put := func(slot int, src []float32, groups int) {
		for n := 0; n < B*T; n++ {
			for k := 0; k < groups; k++ {
				copy(acts[(n*S+slot+k)*C:(n*S+slot+k+1)*C], src[(n*groups+k)*C:(n*groups+k+1)*C])
			}
		}
	}
	p, err := m.Forward(tokens, B, T, nil, &models.Options{AttnResult: true, NoGrad: true,
		Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
			if hook != nil {
				if out, err := hook(name, a); err != nil {
					return nil, err
				} else if out != nil && out != a {
					copy(a.Data, out.Data)
				}
			}
			if slot, groups, ok := g.senderAt(name); ok {
				put(slot, a.Data, groups)
			}
			return nil, nil
		}})
	if err != nil {
		return nil, nil, err
	}
	logits := p.Logits.Clone()
	p.Release()
	return acts, logits, nil
}

// senderAt says whether hook point name is a sender's output, and if so its
// first slot and how many consecutive slots it fills (the heads of a layer).
func (g *Graph) senderAt(name string) (slot, groups int, ok bool) {
	if name == models.ActName("resid_pre", 0) {
		return 0, 1, true
	}
	for l := 0; l < g.Config.NLayers; l++ {
		switch name {
		case models.ActName("result", l):
			return g.senderSlot(l, 0), g.Config.NHeads, true
		case models.ActName("mlp_out", l):
			if !g.Config.AttnOnly {
				return g.senderSlot(l, -1), 1, true
			}
		}
	}
	return 0, 0, false
}

// receiverAt says whether hook point name (without "_grad") is read by
// receivers, and if so its first receiver slot and how many heads it holds.
func (g *Graph) receiverAt(name string) (first, groups int, ok bool) {
	L, H := g.Config.NLayers, g.Config.NHeads
	if name == models.ActName("resid_post", L-1) {
		return len(g.receivers) - 1, 1, true
	}
	for l := 0; l < L; l++ {
		qkv, mlp := g.layerReceivers(l)
		for i, in := range []string{"q_input", "k_input", "v_input"} {
			if name == models.ActName(in, l) {
				return qkv + i*H, H, true
			}
		}
		if mlp >= 0 && name == models.ActName("mlp_in", l) {
			return mlp, 1, true
		}
	}
	return 0, 0, false
}

// AttributionOptions configure EdgeAttribution.
type AttributionOptions struct {
	Metric Metric // default LogitDiff
	Method Method // default EAP
	// Steps is EAP-IG's number of interpolation steps (default 5, as
	// Hanna et al. 2024 find enough); EAP-IG with one step is EAP.
	Steps int
	// BatchSize is the number of pairs run at once (default 8): memory
	// grows with it as B·T·(senders)·d_model floats.
	BatchSize int
}

// EdgeScores holds the edge and node scores of one method on one task.
type EdgeScores struct {
	Graph  *Graph `json:"-"`
	Method Method `json:"method"`
	Metric Metric `json:"metric"`
	Steps  int    `json:"steps"`
	Pairs  int    `json:"pairs"`
	// Clean and Corrupted are the metric of the clean and the corrupted
	// runs, averaged over pairs.
	Clean     float64 `json:"clean"`
	Corrupted float64 `json:"corrupted"`
	// Scores [edge] estimate metric(edge corrupted) - metric(clean): the
	// difference (corrupted - clean) of the upstream output times the
	// gradient of the metric at the downstream input, summed over
	// positions, averaged over pairs.
	Scores []float64 `json:"scores"`
	// NodeScores [node] estimate the same for corrupting every output of a
	// node at once: the sum of its outgoing edges' scores (0 for the logits).
	NodeScores []float64 `json:"node_scores"`
}

// MaxIGSteps bounds AttributionOptions.Steps: each step is a forward and a
// backward pass over every pair, and Hanna et al. 2024 find 5 to 100 enough.
const MaxIGSteps = 1000

// EdgeAttribution scores every edge of the model's graph on the pairs.
func EdgeAttribution(m *models.Model, pairs []Pair, o AttributionOptions) (*EdgeScores, error) {
	if o.Metric == "" {
		o.Metric = LogitDiff
	}
	if o.Method == "" {
		o.Method = EAP
	}
	if o.Steps <= 0 {
		o.Steps = 5
	}
	if o.Steps > MaxIGSteps {
		return nil, fmt.Errorf("circuits: %d interpolation steps; EAP-IG needs 5 to 100, and this package takes at most %d", o.Steps, MaxIGSteps)
	}
	if o.Method == EAP {
		o.Steps = 1
	}
	if o.Metric == KL && o.Method == EAP {
		return nil, errors.New("circuits: the KL metric's gradient is zero at the clean run, so EAP scores every edge 0: use eap-ig")
	}
	bs, err := batches(m, pairs, o.BatchSize)
	if err != nil {
		return nil, err
	}
	g := NewGraph(m.Config)
	a := &EdgeScores{Graph: g, Method: o.Method, Metric: o.Metric, Steps: o.Steps, Pairs: len(pairs),
		Scores: make([]float64, len(g.Edges)), NodeScores: make([]float64, len(g.Nodes))}
	for _, b := range bs {
		if err := a.addBatch(m, b, o.Steps, float64(len(pairs))); err != nil {
			return nil, err
		}
	}
	for i, e := range g.Edges {
		a.NodeScores[e.From] += a.Scores[i]
	}
	return a, nil
}

// cleanRuns fills b.cleanLogp and returns the sender outputs of both runs and
// the sums of the metric over the batch.
func (g *Graph) cleanRuns(m *models.Model, b *batch, mt Metric) (clean, corr []float32, mClean, mCorr float64, err error) {
	B := len(b.pairs)
	clean, cl, err := g.senderActs(m, b.clean, B, b.T, nil)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	corr, co, err := g.senderActs(m, b.corrupted, B, b.T, nil)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	b.cleanLogp = make([][]float64, B)
	for i := range b.pairs {
		b.cleanLogp[i] = tensor.LogSoftmax(b.lastRow(cl, i))
	}
	return clean, corr, b.metric(mt, cl), b.metric(mt, co), nil
}

func (a *EdgeScores) addBatch(m *models.Model, b *batch, steps int, nPairs float64) error {
	g := a.Graph
	c := g.Config
	B, T, C, S, R := len(b.pairs), b.T, c.DModel, len(g.senders), len(g.receivers)
	N := B * T
	clean, corr, mc, mk, err := g.cleanRuns(m, b, a.Metric)
	if err != nil {
		return err
	}
	a.Clean += mc / nPairs
	a.Corrupted += mk / nPairs
	// delta = corrupted - clean, [N][S][C]; the input's also drives EAP-IG.
	delta := make([]float32, len(corr))
	for i := range delta {
		delta[i] = corr[i] - clean[i]
	}
	input := models.ActName("resid_pre", 0)
	scores := make([]float64, S*R) // [sender][receiver]
	for k := 1; k <= steps; k++ {
		// EAP-IG's k-th run reads corrupted + k/steps (clean - corrupted) as
		// its input embeddings; the last (EAP's only) run is the clean one.
		alpha := float32(k) / float32(steps)
		var hook models.HookFunc
		if steps > 1 {
			hook = func(name string, x *tensor.Tensor) (*tensor.Tensor, error) {
				if name == input {
					for n := 0; n < N; n++ {
						cl, co := clean[n*S*C:n*S*C+C], corr[n*S*C:n*S*C+C]
						row := x.Data[n*C : (n+1)*C]
						for j := range row {
							row[j] = co[j] + alpha*(cl[j]-co[j])
						}
					}
				}
				return nil, nil
			}
		}
		p, err := m.Forward(b.clean, B, T, nil, &models.Options{SplitInputs: true, Hook: hook})
		if err != nil {
			return err
		}
		dl := tensor.New(B, T, c.DVocab)
		V := c.DVocab
		for i, pr := range b.pairs {
			off := (i*T + T - 1) * V
			a.Metric.grad(dl.Data[off:off+V], b.lastRow(p.Logits, i), b.cleanLogp[i], pr.Answer, pr.Wrong, 1/(nPairs*float64(steps)))
		}
		tmp := make([]float32, S*c.NHeads)
		err = m.Backward(p, nil, &models.BackwardOptions{DLogits: dl, GradHook: func(name string, gr *tensor.Tensor) error {
			first, groups, ok := g.receiverAt(name[:len(name)-len("_grad")])
			if !ok {
				return nil
			}
			before := g.receivers[first].before
			// tmp[s][h] = Σ_n delta[n][s] · grad[n][h] over the senders upstream.
			clear(tmp)
			for n := 0; n < N; n++ {
				tensor.Gemm(false, true, before, groups, C, 1, delta[n*S*C:], C, gr.Data[n*groups*C:], C, 1, tmp, groups)
			}
			for s := 0; s < before; s++ {
				for h := 0; h < groups; h++ {
					scores[s*R+first+h] += float64(tmp[s*groups+h])
				}
			}
			return nil
		}})
		p.Release()
		if err != nil {
			return err
		}
	}
	for i, e := range g.Edges {
		a.Scores[i] += scores[e.sender*R+e.receiver]
	}
	return nil
}

// TopEdges returns the edge indices by |score|, largest first.
func (a *EdgeScores) TopEdges() []int {
	idx := make([]int, len(a.Scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return math.Abs(a.Scores[idx[x]]) > math.Abs(a.Scores[idx[y]]) })
	return idx
}
