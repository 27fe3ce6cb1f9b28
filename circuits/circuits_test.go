package circuits_test

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// oneHeadModel is a 1-layer, 1-head attention-only model without LayerNorm
// in which W_E is the identity (vocab = d_model = d_head = 4) and W_U = W_E^T
// (tied), so the full OV circuit is W_V W_O itself.
func oneHeadModel(t *testing.T, ov [4][4]float64) *models.Model {
	t.Helper()
	m := testmodel.Zero(t, models.Config{NLayers: 1, NHeads: 1, DModel: 4, DHead: 4, NCtx: 4, DVocab: 4,
		AttnOnly: true, Normalization: models.NormNone})
	we := weight(t, m, "W_E", 0)
	wv := weight(t, m, "W_V", 0)
	wo := weight(t, m, "W_O", 0)
	for i := 0; i < 4; i++ {
		we.Data[i*4+i] = 1
		wv.Data[i*4+i] = 1 // W_V = I, W_O = ov
		for j := 0; j < 4; j++ {
			wo.Data[i*4+j] = float32(ov[i][j])
		}
	}
	testmodel.Set(t, m, "W_E", 0, we)
	testmodel.Set(t, m, "W_V", 0, wv)
	testmodel.Set(t, m, "W_O", 0, wo)
	return m
}

func TestOVCopyingScoreHandBuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		ov   [4][4]float64
		want float64
	}{
		{"scaled identity copies", [4][4]float64{{3, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 3}}, 1},
		{"negated identity suppresses", [4][4]float64{{-2, 0, 0, 0}, {0, -2, 0, 0}, {0, 0, -2, 0}, {0, 0, 0, -2}}, -1},
		// Eigenvalues ±i (a 90° rotation of dims 0-1) and 1, 1: (0 + 2) / 4.
		{"rotation plus identity", [4][4]float64{{0, 1, 0, 0}, {-1, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, 0.5},
		// Eigenvalues 2, 2, -1, -1: (4 - 2) / 6.
		{"mixed signs", [4][4]float64{{2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, -1, 0}, {0, 0, 0, -1}}, 1.0 / 3},
		// A permutation sends token i to token i+1: a 4-cycle, eigenvalues 1, i, -1, -i.
		{"shift to the next token", [4][4]float64{{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}}, 0},
	} {
		m := oneHeadModel(t, tc.ov)
		if got := circuits.OVCopyingScore(m, 0, 0); !near(got, tc.want, 1e-6) {
			t.Errorf("%s: copying score %g, want %g", tc.name, got, tc.want)
		}
		full := circuits.FullOV(m, 0, 0).Full()
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				if !near(full.At(i, j), tc.ov[i][j], 1e-6) {
					t.Fatalf("%s: full OV [%d,%d] = %g, want %g", tc.name, i, j, full.At(i, j), tc.ov[i][j])
				}
			}
		}
	}
}

// twoLayerModel has 2 layers of 2 heads of d_head 1 in d_model 4, no
// LayerNorm: head (0,0) writes along e0, head (0,1) along e1; each later head
// reads queries, keys or values along the given directions.
func twoLayerModel(t *testing.T, ln bool, q, k, v [2][4]float64) *models.Model {
	t.Helper()
	cfg := models.Config{NLayers: 2, NHeads: 2, DModel: 4, DHead: 1, NCtx: 4, DVocab: 5, AttnOnly: true, Normalization: models.NormNone}
	if ln {
		cfg.Normalization = models.NormLN
	}
	m := testmodel.Zero(t, cfg)
	for l := 0; l < 2; l++ {
		wq, wk, wv, wo := weight(t, m, "W_Q", l), weight(t, m, "W_K", l), weight(t, m, "W_V", l), weight(t, m, "W_O", l)
		for h := 0; h < 2; h++ {
			for c := 0; c < 4; c++ {
				if l == 0 {
					wv.Data[h*4+c] = float32(c + 1)
					wq.Data[h*4+c], wk.Data[h*4+c] = 1, 1
				} else {
					wq.Data[h*4+c], wk.Data[h*4+c], wv.Data[h*4+c] = float32(q[h][c]), float32(k[h][c]), float32(v[h][c])
				}
			}
			wo.Data[h*4+h] = 1 // W_O[h] = e_h (layer 0); layer 1 likewise
		}
		testmodel.Set(t, m, "W_Q", l, wq)
		testmodel.Set(t, m, "W_K", l, wk)
		testmodel.Set(t, m, "W_V", l, wv)
		testmodel.Set(t, m, "W_O", l, wo)
	}
	return m
}

// With rank-one heads each composition score is |cos| between the direction
// the earlier head writes and the one the later head reads.
func TestCompositionHandBuilt(t *testing.T) {
	s := 1 / math.Sqrt2
	m := twoLayerModel(t, false,
		[2][4]float64{{1, 0, 0, 0}, {0, 0, 1, 0}}, // later head 0 queries read e0, head 1 reads e2
		[2][4]float64{{0, 1, 0, 0}, {1, 1, 0, 0}}, // keys: e1; e0+e1
		[2][4]float64{{0, 0, 0, 1}, {3, 0, 0, 0}}, // values: e3; e0
	)
	want := map[circuits.CompositionKind][2][2]float64{ // [earlier head][later head]
		circuits.QComposition: {{1, 0}, {0, 0}},
		circuits.KComposition: {{0, s}, {1, s}},
		circuits.VComposition: {{0, 1}, {0, 0}},
	}
	for kind, w := range want {
		cs, err := circuits.Composition(m, kind, 1)
		if err != nil {
			t.Fatal(err)
		}
		for e := 0; e < 2; e++ {
			for l := 0; l < 2; l++ {
				if got := cs.At(circuits.Head{Layer: 0, Head: e}, circuits.Head{Layer: 1, Head: l}); !near(got, w[e][l], 1e-6) {
					t.Errorf("%v-composition L0H%d -> L1H%d = %g, want %g", kind, e, l, got, w[e][l])
				}
			}
		}
		// Pairs within a layer, or backwards, are not scored.
		for _, p := range [][2]circuits.Head{{{Layer: 0, Head: 0}, {Layer: 0, Head: 1}}, {{Layer: 1, Head: 0}, {Layer: 0, Head: 0}}, {{Layer: 1, Head: 0}, {Layer: 1, Head: 1}}} {
			if got := cs.At(p[0], p[1]); !math.IsNaN(got) {
				t.Errorf("%v: %v -> %v scored %g, want NaN", kind, p[0], p[1], got)
			}
		}
		if n := len(cs.Pairs()); n != 4 {
			t.Errorf("%v: %d pairs, want 4", kind, n)
		}
		b := cs.Baseline
		if !(b.Mean > 0 && b.Mean < 1 && b.Std > 0 && b.P95 > b.Mean) || b.Samples != circuits.BaselineSamples {
			t.Errorf("%v: baseline %+v", kind, b)
		}
	}
	k, _ := circuits.Composition(m, circuits.KComposition, 1)
	top := k.Top(1)[0]
	if top.Earlier != (circuits.Head{Layer: 0, Head: 1}) || top.Later != (circuits.Head{Layer: 1, Head: 0}) || !near(top.Score, 1, 1e-6) {
		t.Errorf("top K-composition pair %+v, want L0H1 -> L1H0 at 1", top)
	}
}

// Two D-dimensional projections onto the same subspace: ||P P|| / ||P||^2 = 1/√D.
func TestCompositionOfProjections(t *testing.T) {
	for _, d := range []int{1, 2, 4} {
		cfg := models.Config{NLayers: 2, NHeads: 1, DModel: 4, DHead: d, NCtx: 4, DVocab: 5, AttnOnly: true, Normalization: models.NormNone}
		m := testmodel.Zero(t, cfg)
		for l := 0; l < 2; l++ {
			wv, wo := weight(t, m, "W_V", l), weight(t, m, "W_O", l)
			for i := 0; i < d; i++ {
				wv.Data[i*d+i] = 1 // W_V [C,D]: e_i -> d_i
				wo.Data[i*4+i] = 1 // W_O [D,C]: d_i -> e_i
			}
			testmodel.Set(t, m, "W_V", l, wv)
			testmodel.Set(t, m, "W_O", l, wo)
		}
		cs, err := circuits.Composition(m, circuits.VComposition, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cs.At(circuits.Head{Layer: 0}, circuits.Head{Layer: 1}), 1/math.Sqrt(float64(d)); !near(got, want, 1e-6) {
			t.Errorf("d_head %d: V-composition %g, want %g", d, got, want)
		}
	}
}

// With LayerNorm, what a head writes along the all-ones direction is removed
// before any later head reads it (centring), and ln1's gain scales what the
// later head reads (folding).
func TestCompositionLayerNormFoldingAndCentring(t *testing.T) {
	m := twoLayerModel(t, true,
		[2][4]float64{{1, 0, 0, 0}, {1, 0, 0, 0}},
		[2][4]float64{{1, 0, 0, 0}, {1, 0, 0, 0}},
		[2][4]float64{{1, 0, 0, 0}, {1, 0, 0, 0}})
	// Head (0,0) now writes along (1,1,1,1), which LayerNorm removes: it
	// writes nothing any later head can read, and its scores are undefined.
	wo := weight(t, m, "W_O", 0)
	for c := 0; c < 4; c++ {
		wo.Data[c] = 1
	}
	wo.Data[4+1] = 1 // head (0,1) still writes e1
	testmodel.Set(t, m, "W_O", 0, wo)
	cs, err := circuits.Composition(m, circuits.QComposition, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.At(circuits.Head{Layer: 0, Head: 0}, circuits.Head{Layer: 1, Head: 0}); !math.IsNaN(got) {
		t.Errorf("composition of a head writing only along the all-ones direction = %g, want NaN (LayerNorm removes the mean)", got)
	}
	// Writing (2,1,1,1) keeps (3/4,-1/4,-1/4,-1/4) after centring; read along
	// e0 that is |cos| = √(3/4) (2/√7 without centring).
	wo.Data[0] = 2
	testmodel.Set(t, m, "W_O", 0, wo)
	if cs, err = circuits.Composition(m, circuits.QComposition, 1); err != nil {
		t.Fatal(err)
	}
	if got, want := cs.At(circuits.Head{Layer: 0, Head: 0}, circuits.Head{Layer: 1, Head: 0}), math.Sqrt(0.75); !near(got, want, 1e-6) {
		t.Errorf("centred composition %g, want %g", got, want)
	}
	// e1 centred is (-1/4, 3/4, -1/4, -1/4); the later head reads e0: |cos| = (1/4)/√(3/4).
	if got, want := cs.At(circuits.Head{Layer: 0, Head: 1}, circuits.Head{Layer: 1, Head: 0}), 0.25/math.Sqrt(0.75); !near(got, want, 1e-6) {
		t.Errorf("centred composition %g, want %g", got, want)
	}
	// ln1.w = 2 in layer 1 folds into W_Q and W_K: the QK circuit is 4 times the raw one.
	before := circuits.QK(m, 1, 0).Full()
	g := weight(t, m, "ln1.w", 1)
	for i := range g.Data {
		g.Data[i] = 2
	}
	testmodel.Set(t, m, "ln1.w", 1, g)
	after := circuits.QK(m, 1, 0).Full()
	if !near(after.At(0, 0), 4*before.At(0, 0), 1e-9) || !near(before.At(0, 0), 1, 1e-9) {
		t.Errorf("QK[0,0] %g before, %g after doubling ln1.w; want 1 and 4", before.At(0, 0), after.At(0, 0))
	}
}

func TestHeadCircuitErrors(t *testing.T) {
	m := oneHeadModel(t, [4][4]float64{})
	for _, tc := range []struct{ l, h int }{{-1, 0}, {1, 0}, {0, 1}, {0, -2}} {
		if _, err := circuits.HeadCircuit(m, circuits.CircuitQK, tc.l, tc.h); err == nil {
			t.Errorf("layer %d head %d: no error", tc.l, tc.h)
		}
	}
	if _, err := circuits.HeadCircuit(m, circuits.CircuitKind(99), 0, 0); err == nil {
		t.Error("unknown circuit kind: no error")
	}
	if _, err := circuits.Composition(m, circuits.CompositionKind(7), 0); err == nil {
		t.Error("unknown composition kind: no error")
	}
	if _, err := circuits.Composition(nil, circuits.QComposition, 0); err == nil {
		t.Error("nil model: no error")
	}
}
