package circuits_test

import (
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
)

// TestDiscoverHandSetInduction runs circuit discovery on a model whose
// induction circuit is known by construction (testmodel.Induction): L0H0
// is the previous-token head, L1H0 the induction head reading it through
// its key, the six other heads are noise. Both methods must put the
// K-composition edge and the induction head's output among the circuit's
// edges; a circuit of at most 10% of the edges must be faithful; the
// scores must rank the edges as their true patching effects do (measured
// with the task's default 32 pairs: Spearman 0.97 for EAP, 0.84 for EAP-IG,
// whose integrated gradients split the key x value interaction of the
// induction head between its key and value edges; with 16 pairs EAP-IG's
// falls to 0.74).
func TestDiscoverHandSetInduction(t *testing.T) {
	m := testmodel.Induction(t, 0.1)
	pairs, err := circuits.InductionTask{Len: 7, Seed: 1}.Generate(m.Config.DVocab, m.Config.NCtx)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []circuits.Method{circuits.EAP, circuits.EAPIG} {
		t.Run(string(method), func(t *testing.T) {
			d, err := circuits.Discover(m, pairs, circuits.DiscoverOptions{
				AttributionOptions: circuits.AttributionOptions{Method: method, BatchSize: 32}, Effects: true, CurvePoints: 4})
			if err != nil {
				t.Fatal(err)
			}
			if d.Clean < 5 || d.Corrupted > 1 {
				t.Fatalf("the hand-set model does not do induction: clean %.3f, corrupted %.3f", d.Clean, d.Corrupted)
			}
			in := map[string]bool{}
			for _, e := range d.Edges {
				in[e.Name] = e.InCircuit
			}
			for _, name := range []string{"input -> L0H0.v", "L0H0 -> L1H0.k", "input -> L1H0.v", "L1H0 -> logits"} {
				if !in[name] {
					t.Errorf("the circuit misses %s", name)
				}
			}
			if 10*d.CircuitEdges > len(d.Edges) || d.Faithfulness < 0.8 {
				t.Errorf("circuit of %d/%d edges, faithfulness %.3f", d.CircuitEdges, len(d.Edges), d.Faithfulness)
			}
			for _, ms := range d.Methods {
				t.Logf("%s circuit: %d edges, faithfulness %.3f; %s: Spearman %.3f, Pearson %.3f against the true effects", method, d.CircuitEdges, d.Faithfulness, ms.Method, ms.Spearman, ms.Pearson)
				if ms.Spearman < 0.8 {
					t.Errorf("%s: Spearman %.3f with the true effects", ms.Method, ms.Spearman)
				}
			}
			last := d.Curve[len(d.Curve)-1]
			if last.Edges != len(d.Edges) || !near(float64(last.Faithfulness), 1, 1e-4) {
				t.Errorf("the whole graph's faithfulness is %.5f", last.Faithfulness)
			}
		})
	}
}
