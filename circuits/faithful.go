package circuits

import (
	"fmt"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Patcher measures circuits by real patching, not by EAP's approximation:
// the clean prompts run with every edge outside the circuit carrying its
// value from the corrupted run. Each downstream input (a head's q, k or v
// input, an MLP's input, the final residual stream) reads the residual
// stream it would read plus, for each upstream node whose edge into it is
// outside the circuit, that node's corrupted output minus its output in
// this run (Hanna et al. 2024's evaluate_graph).
type Patcher struct {
	Graph  *Graph
	Metric Metric
	// Clean and Corrupted are the metric of the unpatched runs, averaged
	// over pairs.
	Clean, Corrupted float64
	m                *models.Model
	batches          []*batch
	corr             [][]float32 // per batch, the corrupted run's sender outputs
	nPairs           float64
}

// NewPatcher runs the clean and corrupted prompts once and returns a patcher
// for the metric (default LogitDiff) with up to batchSize pairs per pass.
func NewPatcher(m *models.Model, pairs []Pair, mt Metric, batchSize int) (*Patcher, error) {
	if mt == "" {
		mt = LogitDiff
	}
	bs, err := batches(m, pairs, batchSize)
	if err != nil {
		return nil, err
	}
	p := &Patcher{Graph: NewGraph(m.Config), Metric: mt, m: m, batches: bs, nPairs: float64(len(pairs))}
	for _, b := range bs {
		_, corr, mc, mk, err := p.Graph.cleanRuns(m, b, mt)
		if err != nil {
			return nil, err
		}
		p.corr = append(p.corr, corr)
		p.Clean += mc / p.nPairs
		p.Corrupted += mk / p.nPairs
	}
	return p, nil
}

// Run returns the metric, averaged over pairs, of the clean prompts with
// every edge i for which keep[i] is false carrying its corrupted value.
func (p *Patcher) Run(keep []bool) (float64, error) {
	g := p.Graph
	if len(keep) != len(g.Edges) {
		return 0, fmt.Errorf("circuits: %d edge flags for %d edges", len(keep), len(g.Edges))
	}
	// missing[r] lists the sender slots whose edge into receiver r is cut.
	missing := make([][]int, len(g.receivers))
	for i, e := range g.Edges {
		if !keep[i] {
			missing[e.receiver] = append(missing[e.receiver], e.sender)
		}
	}
	C, S := g.Config.DModel, len(g.senders)
	var total float64
	for bi, b := range p.batches {
		B, T := len(b.pairs), b.T
		N := B * T
		corr := p.corr[bi]
		diff := make([]float32, N*S*C) // corrupted - this run, per sender
		pass, err := p.m.Forward(b.clean, B, T, nil, &models.Options{AttnResult: true, SplitInputs: true, NoGrad: true,
			Hook: func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
				if slot, groups, ok := g.senderAt(name); ok {
					for n := 0; n < N; n++ {
						for k := 0; k < groups; k++ {
							o := (n*S + slot + k) * C
							src := a.Data[(n*groups+k)*C : (n*groups+k+1)*C]
							for j, x := range src {
								diff[o+j] = corr[o+j] - x
							}
						}
					}
				}
				first, groups, ok := g.receiverAt(name)
				if !ok {
					return nil, nil
				}
				for h := 0; h < groups; h++ {
					for _, s := range missing[first+h] {
						for n := 0; n < N; n++ {
							dst := a.Data[(n*groups+h)*C : (n*groups+h+1)*C]
							for j, d := range diff[(n*S+s)*C : (n*S+s+1)*C] {
								dst[j] += d
							}
						}
					}
				}
				return nil, nil
			}})
		if err != nil {
			return 0, err
		}
		total += b.metric(p.Metric, pass.Logits)
		pass.Release()
	}
	return total / p.nPairs, nil
}

// Faithfulness is (metric(circuit) - metric(corrupted)) / (metric(clean) -
// metric(corrupted)): 1 when the circuit alone restores the clean behaviour,
// 0 when it does no better than the corrupted run.
func (p *Patcher) Faithfulness(keep []bool) (float64, error) {
	v, err := p.Run(keep)
	if err != nil {
		return 0, err
	}
	return (v - p.Corrupted) / (p.Clean - p.Corrupted), nil
}

// EdgeEffects returns each edge's true patching effect: the metric with that
// edge alone carrying its corrupted value, minus the clean metric (what
// EdgeScores.Scores estimate). It costs one pass per edge and batch;
// progress, if set, is called after each edge.
func (p *Patcher) EdgeEffects(progress func(done, total int)) ([]float64, error) {
	E := len(p.Graph.Edges)
	keep := make([]bool, E)
	for i := range keep {
		keep[i] = true
	}
	out := make([]float64, E)
	for i := range out {
		keep[i] = false
		v, err := p.Run(keep)
		if err != nil {
			return nil, err
		}
		keep[i] = true
		out[i] = v - p.Clean
		if progress != nil {
			progress(i+1, E)
		}
	}
	return out, nil
}

// TopK returns the circuit of the k edges of largest |score|, pruned to
// the edges on a path from the input to the logits (Graph.Prune).
func (a *EdgeScores) TopK(k int) []bool {
	keep := make([]bool, len(a.Scores))
	for _, i := range a.TopEdges()[:min(k, len(keep))] {
		keep[i] = true
	}
	a.Graph.Prune(keep)
	return keep
}

// Greedy grows a circuit from the logits: it adds, k times, the edge of
// largest |score| among those entering a node already in the circuit, so
// every edge it adds is connected to the logits; then it prunes edges whose
// upstream node nothing in the circuit feeds (Graph.Prune).
func (a *EdgeScores) Greedy(k int) []bool {
	g := a.Graph
	keep := make([]bool, len(g.Edges))
	in := make([]bool, len(g.Nodes))
	in[len(g.Nodes)-1] = true
	order := a.TopEdges()
	for n := 0; n < k; n++ {
		added := false
		for _, i := range order {
			if !keep[i] && in[g.Edges[i].To] {
				keep[i], in[g.Edges[i].From], added = true, true, true
				break
			}
		}
		if !added {
			break
		}
	}
	g.Prune(keep)
	return keep
}
