package circuits

import (
	"fmt"
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
)

// DiscoverOptions configure Discover.
type DiscoverOptions struct {
	AttributionOptions
	// Size is the number of edges the circuit is grown to before pruning
	// (default 10% of the edges, at least 1).
	Size int
	// Greedy grows the circuit from the logits (EdgeScores.Greedy) instead
	// of taking the top edges (EdgeScores.TopK).
	Greedy bool
	// Effects measures every edge's true patching effect (one pass per edge
	// and batch) and correlates both methods' scores with it.
	Effects bool
	// CurvePoints is the number of circuit sizes on the faithfulness curve
	// (default 16).
	CurvePoints int
	// Progress, if set, is told what is being computed.
	Progress func(stage string, done, total int)
}

// DiscoveredEdge is one edge of a Discovery.
type DiscoveredEdge struct {
	Name  string `json:"name"`
	From  string `json:"from"`
	To    string `json:"to"`
	Input string `json:"input,omitempty"`
	// Score is the chosen method's score; Effect the true patching effect
	// (null unless measured).
	Score     jsonx.Float `json:"score"`
	Effect    jsonx.Float `json:"effect"`
	InCircuit bool        `json:"in_circuit"`
}

// MethodScores are one method's edge scores and how they correlate with the
// true effects.
type MethodScores struct {
	Method   Method        `json:"method"`
	Steps    int           `json:"steps"`
	Scores   []jsonx.Float `json:"scores"` // by edge, as Discovery.Edges
	Spearman jsonx.Float   `json:"spearman"`
	Pearson  jsonx.Float   `json:"pearson"`
}

// CurvePoint is the faithfulness of the circuit grown to Target edges,
// which keeps Edges edges after pruning.
type CurvePoint struct {
	Target       int         `json:"target"`
	Edges        int         `json:"edges"`
	Faithfulness jsonx.Float `json:"faithfulness"`
}

// Discovery is a circuit found by edge attribution patching and checked by
// patching.
type Discovery struct {
	Method    Method      `json:"method"`
	Metric    Metric      `json:"metric"`
	Steps     int         `json:"steps"`
	Pairs     int         `json:"pairs"`
	Selection string      `json:"selection"` // "top-k" or "greedy"
	Clean     jsonx.Float `json:"clean_metric"`
	Corrupted jsonx.Float `json:"corrupted_metric"`
	Nodes     []Node      `json:"nodes"`
	// NodeScores [node] of the chosen method (EdgeScores.NodeScores).
	NodeScores   []jsonx.Float    `json:"node_scores"`
	Edges        []DiscoveredEdge `json:"edges"`
	CircuitEdges int              `json:"circuit_edges"`
	// Faithfulness of the circuit, measured by patching every other edge.
	Faithfulness jsonx.Float  `json:"faithfulness"`
	Curve        []CurvePoint `json:"curve"`
	// Methods holds the scores of each method computed (both with
	// Effects), with their correlations to the true effects.
	Methods []MethodScores `json:"methods"`
}

// Discover scores the model's edges on the pairs, selects a circuit and
// measures it: its faithfulness, the faithfulness curve over circuit sizes
// and, with Effects, the true effect of every edge.
func Discover(m *models.Model, pairs []Pair, o DiscoverOptions) (*Discovery, error) {
	progress := func(stage string, done, total int) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	progress("scores", 0, 1)
	a, err := EdgeAttribution(m, pairs, o.AttributionOptions)
	if err != nil {
		return nil, err
	}
	g := a.Graph
	E := len(g.Edges)
	if o.Size <= 0 {
		o.Size = max(1, E/10)
	}
	if o.CurvePoints <= 0 {
		o.CurvePoints = 16
	}
	p, err := NewPatcher(m, pairs, a.Metric, o.BatchSize)
	if err != nil {
		return nil, err
	}
	if p.Clean == p.Corrupted {
		return nil, fmt.Errorf("circuits: the clean and corrupted runs have the same %s (%g): nothing to explain", a.Metric, p.Clean)
	}
	d := &Discovery{Method: a.Method, Metric: a.Metric, Steps: a.Steps, Pairs: len(pairs), Selection: "top-k",
		Clean: jsonx.Float(p.Clean), Corrupted: jsonx.Float(p.Corrupted), Nodes: g.Nodes,
		NodeScores: floats(a.NodeScores)}
	circuit := a.TopK
	if o.Greedy {
		circuit, d.Selection = a.Greedy, "greedy"
	}
	keep := circuit(o.Size)
	f, err := p.Faithfulness(keep)
	if err != nil {
		return nil, err
	}
	d.Faithfulness = jsonx.Float(f)
	for i := range g.Edges {
		e := g.Edges[i]
		d.Edges = append(d.Edges, DiscoveredEdge{Name: g.EdgeName(i), From: g.Nodes[e.From].Name, To: g.Nodes[e.To].Name,
			Input: e.Input, Score: jsonx.Float(a.Scores[i]), Effect: jsonx.Float(math.NaN()), InCircuit: keep[i]})
		if keep[i] {
			d.CircuitEdges++
		}
	}
	sizes := curveSizes(E, o.CurvePoints, o.Size)
	for i, k := range sizes {
		progress("faithfulness curve", i, len(sizes))
		keep := circuit(k)
		f, err := p.Faithfulness(keep)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, x := range keep {
			if x {
				n++
			}
		}
		d.Curve = append(d.Curve, CurvePoint{Target: k, Edges: n, Faithfulness: jsonx.Float(f)})
	}
	methods := []*EdgeScores{a}
	if o.Effects {
		// Both methods, so that each can be set against the truth.
		other := o.AttributionOptions
		other.Method = EAPIG
		if a.Method == EAPIG {
			other.Method = EAP
		}
		if !(other.Method == EAP && a.Metric == KL) {
			progress("scores of "+string(other.Method), 0, 1)
			b, err := EdgeAttribution(m, pairs, other)
			if err != nil {
				return nil, err
			}
			methods = append(methods, b)
			sort.Slice(methods, func(i, j int) bool { return methods[i].Method < methods[j].Method })
		}
	}
	var eff []float64
	if o.Effects {
		if eff, err = p.EdgeEffects(func(done, total int) { progress("edge effects", done, total) }); err != nil {
			return nil, err
		}
		for i, x := range eff {
			d.Edges[i].Effect = jsonx.Float(x)
		}
	}
	for _, s := range methods {
		ms := MethodScores{Method: s.Method, Steps: s.Steps, Scores: floats(s.Scores),
			Spearman: jsonx.Float(math.NaN()), Pearson: jsonx.Float(math.NaN())}
		if eff != nil {
			ms.Spearman, ms.Pearson = jsonx.Float(Spearman(s.Scores, eff)), jsonx.Float(Pearson(s.Scores, eff))
		}
		d.Methods = append(d.Methods, ms)
	}
	return d, nil
}

// curveSizes returns about n circuit sizes from 1 to E, spaced evenly on a
// log scale, with size among them.
func curveSizes(E, n, size int) []int {
	set := map[int]bool{size: true, E: true}
	for i := 0; i < n; i++ {
		set[max(1, int(math.Round(math.Pow(float64(E), float64(i)/float64(n-1)))))] = true
	}
	var out []int
	for k := range set {
		if k >= 1 && k <= E {
			out = append(out, k)
		}
	}
	sort.Ints(out)
	return out
}

func floats(x []float64) []jsonx.Float {
	out := make([]jsonx.Float, len(x))
	for i, v := range x {
		out[i] = jsonx.Float(v)
	}
	return out
}

// TopEdges returns the edge indices by |score|, largest first.
func (d *Discovery) TopEdges() []int {
	idx := make([]int, len(d.Edges))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		return math.Abs(float64(d.Edges[idx[x]].Score)) > math.Abs(float64(d.Edges[idx[y]].Score))
	})
	return idx
}
