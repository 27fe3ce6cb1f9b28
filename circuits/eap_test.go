package circuits_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

var eapConfigs = []struct {
	name string
	cfg  models.Config
}{
	{"gpt2", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 12, Seed: 3}},
	{"attn-only", models.Config{NLayers: 2, NHeads: 3, DModel: 12, DHead: 4, NCtx: 8, DVocab: 12, AttnOnly: true, Seed: 4}},
	{"no-ln", models.Config{NLayers: 2, NHeads: 2, DModel: 8, DMLP: 12, NCtx: 8, DVocab: 12, Normalization: models.NormNone, Seed: 5}},
	{"parallel-rms-rotary", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 12, Normalization: models.NormRMS,
		Positional: models.PosRotary, ParallelAttnMLP: true, Seed: 6}},
}

// randomPairs returns n pairs of length T whose corrupted prompt differs
// from the clean one in its first half.
func randomPairs(seed uint64, n, T, V int) []circuits.Pair {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]circuits.Pair, n)
	for i := range out {
		cl, co := make([]int, T), make([]int, T)
		for j := range cl {
			cl[j] = rng.IntN(V)
			co[j] = cl[j]
			if j < T/2 {
				co[j] = rng.IntN(V)
			}
		}
		out[i] = circuits.Pair{Clean: cl, Corrupted: co, Answer: rng.IntN(V), Wrong: rng.IntN(V)}
	}
	return out
}

func TestGraphEdges(t *testing.T) {
	// The demo model's shape: 2 layers of 4 heads, attention only: 12 edges
	// into layer 0 (input into q, k, v of 4 heads), 5·12 into layer 1, and
	// 9 into the logits.
	g := circuits.NewGraph(models.Config{NLayers: 2, NHeads: 4, DModel: 16, NCtx: 8, DVocab: 10, AttnOnly: true})
	if len(g.Nodes) != 10 || len(g.Edges) != 81 {
		t.Errorf("%d nodes, %d edges; want 10, 81", len(g.Nodes), len(g.Edges))
	}
	for _, name := range []string{"L0H1 -> L1H2.k", "input -> L0H0.q", "L1H3 -> logits", "input -> logits"} {
		if g.FindEdge(name) < 0 {
			t.Errorf("no edge %q", name)
		}
	}
	for _, name := range []string{"L1H0 -> L0H0.q", "L0H0 -> L0H1.k", "logits -> L0H0.q"} {
		if g.FindEdge(name) >= 0 {
			t.Errorf("edge %q should not exist", name)
		}
	}
	// With MLPs an MLP reads its own layer's heads: 1 + 2 heads into MLP0.
	g = circuits.NewGraph(models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 4, DVocab: 5})
	if g.FindEdge("L0H1 -> MLP0") < 0 || len(g.Edges) != 6+3+4 {
		t.Errorf("%d edges, want 13", len(g.Edges))
	}
	// A parallel block's MLP reads resid_pre, not its own layer's heads.
	g = circuits.NewGraph(models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 4, DVocab: 5, ParallelAttnMLP: true})
	if g.FindEdge("L0H1 -> MLP0") >= 0 || g.FindEdge("input -> MLP0") < 0 || len(g.Edges) != 6+1+4 {
		t.Errorf("parallel block: %d edges, want 11", len(g.Edges))
	}
}

// TestPatcherEndpoints: every edge clean reproduces the clean metric, every
// edge corrupted the corrupted one.
func TestPatcherEndpoints(t *testing.T) {
	for _, tc := range eapConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.Random(t, tc.cfg, 0.5)
			for _, mt := range circuits.Metrics {
				p, err := circuits.NewPatcher(m, randomPairs(1, 5, 7, tc.cfg.DVocab), mt, 2)
				if err != nil {
					t.Fatal(err)
				}
				all, none := make([]bool, len(p.Graph.Edges)), make([]bool, len(p.Graph.Edges))
				for i := range all {
					all[i] = true
				}
				for _, c := range []struct {
					keep []bool
					want float64
				}{{all, p.Clean}, {none, p.Corrupted}} {
					got, err := p.Run(c.keep)
					if err != nil {
						t.Fatal(err)
					}
					if !near(got, c.want, 1e-4*(1+math.Abs(c.want))) {
						t.Errorf("%s: patched %.6g, want %.6g", mt, got, c.want)
					}
				}
				if math.Abs(p.Clean-p.Corrupted) < 1e-4 {
					t.Errorf("%s: clean %.4g and corrupted %.4g barely differ: the test shows nothing", mt, p.Clean, p.Corrupted)
				}
			}
		})
	}
}

// TestEAPExactWhereLinear: without LayerNorm the logits are linear in the
// final residual stream, so the logit difference's EAP score of every edge
// into the logits equals that edge's true patching effect.
func TestEAPExactWhereLinear(t *testing.T) {
	cfg := eapConfigs[2].cfg
	m := testmodel.Random(t, cfg, 0.5)
	pairs := randomPairs(2, 4, 6, cfg.DVocab)
	a, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	p, err := circuits.NewPatcher(m, pairs, circuits.LogitDiff, 3)
	if err != nil {
		t.Fatal(err)
	}
	eff, err := p.EdgeEffects(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, e := range a.Graph.Edges {
		if a.Graph.Nodes[e.To].Kind != circuits.NodeLogits {
			continue
		}
		n++
		if !near(a.Scores[i], eff[i], 1e-4*(1+math.Abs(eff[i]))) {
			t.Errorf("%s: EAP %.6g, patching %.6g", a.Graph.EdgeName(i), a.Scores[i], eff[i])
		}
	}
	if n != 1+2*3 || !near(a.Clean, p.Clean, 1e-5) {
		t.Errorf("%d edges into the logits; clean metric %g vs %g", n, a.Clean, p.Clean)
	}
	// Elsewhere it is an approximation (Pearson 0.81 measured here).
	if r := circuits.Pearson(a.Scores, eff); r < 0.7 {
		t.Errorf("EAP vs patching: Pearson %.3f over all edges", r)
	}
}

// TestEAPMatchesAttributionPatching: a head's node score (the sum of its
// outgoing edges' scores) is attribution patching's estimate for its output;
// with clean and corrupted swapped (EAP corrupts, AttributionPatch restores)
// the two must agree, computed through different hook points (hook_result
// and the split inputs here, hook_z there).
func TestEAPMatchesAttributionPatching(t *testing.T) {
	for _, tc := range eapConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.Random(t, tc.cfg, 0.5)
			pr := randomPairs(3, 1, 7, tc.cfg.DVocab)[0]
			ap, err := circuits.AttributionPatch(m, pr.Clean, pr.Corrupted, pr.Answer, pr.Wrong)
			if err != nil {
				t.Fatal(err)
			}
			swapped := circuits.Pair{Clean: pr.Corrupted, Corrupted: pr.Clean, Answer: pr.Answer, Wrong: pr.Wrong}
			for _, method := range []circuits.Method{circuits.EAP, circuits.EAPIG} {
				a, err := circuits.EdgeAttribution(m, []circuits.Pair{swapped}, circuits.AttributionOptions{Method: method, Steps: 1})
				if err != nil {
					t.Fatal(err)
				}
				scale := ap.CleanDiff - ap.CorruptedDiff
				for i, n := range a.Graph.Nodes {
					if n.Kind != circuits.NodeHead {
						continue
					}
					want := ap.Heads[n.Layer][n.Head] * scale
					if !near(a.NodeScores[i], want, 1e-4*(1+math.Abs(want))) {
						t.Errorf("%s %s: EAP node score %.6g, attribution patching %.6g", method, n.Name, a.NodeScores[i], want)
					}
				}
			}
		})
	}
}

// TestEAPIGConverges: EAP-IG's scores change with the number of steps and
// settle as it grows (integrated gradients' Riemann sum converges).
func TestEAPIGConverges(t *testing.T) {
	cfg := eapConfigs[0].cfg
	m := testmodel.Random(t, cfg, 0.5)
	pairs := randomPairs(4, 3, 6, cfg.DVocab)
	score := func(steps int) []float64 {
		a, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{Method: circuits.EAPIG, Steps: steps, Metric: circuits.KL})
		if err != nil {
			t.Fatal(err)
		}
		return a.Scores
	}
	s1, s8, s32 := score(2), score(16), score(32)
	d := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s = math.Max(s, math.Abs(a[i]-b[i]))
		}
		return s
	}
	if far, close := d(s1, s32), d(s8, s32); !(close < far/3) || far == 0 {
		t.Errorf("max |Δ| to 32 steps: 2 steps %.3g, 16 steps %.3g", far, close)
	}
	if _, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{Metric: circuits.KL}); err == nil {
		t.Error("EAP with the KL metric: no error")
	}
}

func TestCircuitSelection(t *testing.T) {
	cfg := eapConfigs[1].cfg
	m := testmodel.Random(t, cfg, 0.5)
	pairs := randomPairs(5, 4, 6, cfg.DVocab)
	a, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := a.Graph
	for _, sel := range []struct {
		name string
		keep []bool
	}{{"top-k", a.TopK(10)}, {"greedy", a.Greedy(10)}} {
		n := 0
		for i, k := range sel.keep {
			if k {
				n++
				// Every kept edge is on a path from the input to the logits.
				c := append([]bool(nil), sel.keep...)
				if g.Prune(c); !c[i] {
					t.Errorf("%s: %s survives pruning once but not twice", sel.name, g.EdgeName(i))
				}
			}
		}
		if n == 0 || n > 10 {
			t.Errorf("%s: %d edges", sel.name, n)
		}
	}
	// Pruning drops a dangling edge: into a head that feeds nothing.
	keep := make([]bool, len(g.Edges))
	keep[g.FindEdge("input -> L0H0.q")] = true
	keep[g.FindEdge("input -> logits")] = true
	if n := g.Prune(keep); n != 1 || !keep[g.FindEdge("input -> logits")] {
		t.Errorf("pruned to %d edges", n)
	}
}

func TestEAPBadInput(t *testing.T) {
	m := testmodel.Random(t, eapConfigs[1].cfg, 0.5)
	for name, pairs := range map[string][]circuits.Pair{
		"none":             nil,
		"lengths differ":   {{Clean: []int{1, 2}, Corrupted: []int{1}, Answer: 1, Wrong: 2}},
		"token too large":  {{Clean: []int{1, 99}, Corrupted: []int{1, 2}, Answer: 1, Wrong: 2}},
		"answer too large": {{Clean: []int{1, 2}, Corrupted: []int{1, 2}, Answer: 12, Wrong: 2}},
	} {
		if _, err := circuits.EdgeAttribution(m, pairs, circuits.AttributionOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := circuits.NewPatcher(m, pairs, circuits.LogitDiff, 0); err == nil {
			t.Errorf("%s: NewPatcher: no error", name)
		}
	}
}

func TestSpearman(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	if r := circuits.Spearman(x, []float64{1, 4, 9, 16, 100}); !near(r, 1, 1e-12) {
		t.Errorf("monotone: %g", r)
	}
	if r := circuits.Spearman(x, []float64{5, 4, 3, 2, 1}); !near(r, -1, 1e-12) {
		t.Errorf("reversed: %g", r)
	}
	// Ties take their mean rank: ranks (1.5, 1.5, 3) against (1, 2, 3).
	if r := circuits.Spearman([]float64{0, 0, 1}, []float64{1, 2, 3}); !near(r, math.Sqrt(3)/2, 1e-12) {
		t.Errorf("ties: %g", r)
	}
}
