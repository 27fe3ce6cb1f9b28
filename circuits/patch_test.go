package circuits_test

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// carrierModel is a 1-layer attention-only model without LayerNorm in which
// head 1 carries the answer and head 0 does not. Vocabulary 6, context 4,
// d_model 10: dims 0-5 hold the token (one-hot), dims 6-9 the position. Both
// heads attend from every position to position 0 (score 20 against 0) and
// read its token; head 1 writes it back onto the token dims, which the tied
// unembedding reads, while head 0 writes it onto the position dims, which no
// logit reads. On [A, x, x, x] the last position's logit of A rises by ~1.
func carrierModel(t *testing.T) *models.Model {
	t.Helper()
	const V, T, D = 6, 4, 6
	m := testmodel.Zero(t, models.Config{NLayers: 1, NHeads: 2, DModel: V + T, DHead: D, NCtx: T, DVocab: V,
		AttnOnly: true, Normalization: models.NormNone})
	C := V + T
	we, wp := weight(t, m, "W_E", 0), weight(t, m, "W_pos", 0)
	for i := 0; i < V; i++ {
		we.Data[i*C+i] = 1
	}
	for p := 0; p < T; p++ {
		wp.Data[p*C+V+p] = 1
	}
	testmodel.Set(t, m, "W_E", 0, we)
	testmodel.Set(t, m, "W_pos", 0, wp)
	wq, wk, wv, wo := weight(t, m, "W_Q", 0), weight(t, m, "W_K", 0), weight(t, m, "W_V", 0), weight(t, m, "W_O", 0)
	for h := 0; h < 2; h++ {
		for p := 0; p < T; p++ {
			wq.Data[(h*C+V+p)*D] = 1 // every position's query: d0 = 1
		}
		wk.Data[(h*C+V)*D] = float32(20 * math.Sqrt(D)) // position 0's key: d0 = 20√D
		for i := 0; i < V; i++ {
			wv.Data[(h*C+i)*D+i] = 1 // value: the token, one-hot
		}
	}
	for i := 0; i < D; i++ {
		wo.Data[(1*D+i)*C+i] = 1 // head 1: back onto the token dims
		if i < T {
			wo.Data[(0*D+i)*C+V+i] = 1 // head 0: onto the position dims
		}
	}
	testmodel.Set(t, m, "W_Q", 0, wq)
	testmodel.Set(t, m, "W_K", 0, wk)
	testmodel.Set(t, m, "W_V", 0, wv)
	testmodel.Set(t, m, "W_O", 0, wo)
	return m
}

var (
	carrierClean     = []int{1, 3, 3, 3}
	carrierCorrupted = []int{2, 3, 3, 3}
)

func TestPatchFindsTheCarrierHead(t *testing.T) {
	m := carrierModel(t)
	for _, method := range []circuits.PatchMethod{circuits.Activation, circuits.Attribution} {
		var r *circuits.PatchResult
		var err error
		if method == circuits.Activation {
			r, err = circuits.Patch(m, carrierClean, carrierCorrupted, 1, 2, circuits.PatchOptions{})
		} else {
			r, err = circuits.AttributionPatch(m, carrierClean, carrierCorrupted, 1, 2)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !near(r.CleanDiff, 1, 1e-6) || !near(r.CorruptedDiff, -1, 1e-6) {
			t.Errorf("%s: clean %g, corrupted %g; want 1, -1", method, r.CleanDiff, r.CorruptedDiff)
		}
		// The model is linear in every patched activation at the last
		// position's logits (one layer, no LayerNorm, attention to position
		// 0 fixed by positions), so attribution patching is exact here too.
		want := map[string]float64{"L0H0": 0, "L0H1": 1}
		for name, w := range want {
			var got float64
			for _, c := range r.Components() {
				if c.Name == name {
					got = c.Effect
				}
			}
			if !near(got, w, 1e-5) {
				t.Errorf("%s: %s effect %g, want %g", method, name, got, w)
			}
		}
		if top := r.TopHeads(1); len(top) != 1 || top[0].Name != "L0H1" {
			t.Errorf("%s: top head %+v, want L0H1", method, top)
		}
		for p := 0; p < 4; p++ {
			wantHP := 0.0
			if p == 3 {
				wantHP = 1 // only the last position's output reaches the metric
			}
			if got := r.HeadPos[0][1][p]; !near(got, wantHP, 1e-5) {
				t.Errorf("%s: head L0H1 at position %d: %g, want %g", method, p, got, wantHP)
			}
			if got := r.HeadPos[0][0][p]; !near(got, 0, 1e-5) {
				t.Errorf("%s: head L0H0 at position %d: %g, want 0", method, p, got)
			}
			// The residual stream carries the answer at position 0 before the
			// layer and at the last position after it.
			if got, w := r.Resid[0][p], b2f(p == 0); !near(got, w, 1e-5) {
				t.Errorf("%s: resid_pre 0 at %d: %g, want %g", method, p, got, w)
			}
			if got, w := r.Resid[1][p], b2f(p == 3); !near(got, w, 1e-5) {
				t.Errorf("%s: final resid at %d: %g, want %g", method, p, got, w)
			}
			if got, w := r.AttnOut[0][p], b2f(p == 3); !near(got, w, 1e-5) {
				t.Errorf("%s: attn_out 0 at %d: %g, want %g", method, p, got, w)
			}
		}
		if r.MLPOut != nil {
			t.Errorf("%s: MLP results for an attention-only model", method)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestDLAFindsTheCarrierHead(t *testing.T) {
	m := carrierModel(t)
	d, err := circuits.DirectLogitAttribution(m, carrierClean, 4, -1, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pos != 3 {
		t.Errorf("pos %d, want 3", d.Pos)
	}
	want := map[string]float64{"L0H1": 1, "L0H0": 0, "embed": 0, "pos_embed": 0, "attn_bias 0": 0, "bias": 0}
	for name, w := range want {
		if got, ok := d.Term(name); !ok || !near(got, w, 1e-6) {
			t.Errorf("term %s = %g (present %v), want %g", name, got, ok, w)
		}
	}
	if len(d.Terms) != 6 {
		t.Errorf("%d terms, want 6: %+v", len(d.Terms), d.Terms)
	}
	if h := d.Heads(1, 2); !near(h[0][1], 1, 1e-6) {
		t.Errorf("Heads() = %v", h)
	}
}

// The terms sum to the model's own logit difference, with and without
// LayerNorm, MLPs and positions in the residual stream, over a batch.
func TestDLASumsToLogitDiff(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  models.Config
		want int // number of terms
	}{
		{"attention-only LayerNorm", models.Config{NLayers: 2, NHeads: 3, DModel: 12, NCtx: 8, DVocab: 11, AttnOnly: true}, 2 + 2*3 + 2 + 1},
		{"GPT-2 with MLPs", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11}, 2 + 2*2 + 2 + 2 + 1},
		{"no LayerNorm", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Normalization: models.NormNone}, 2 + 4 + 2 + 2 + 1},
		{"shortformer untied", models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, AttnOnly: true, Positional: models.PosShortformer, Untied: true}, 1 + 2 + 1 + 1},
		// No W_pos term with rotary positions; RMSNorm divides without centring.
		{"GPT-NeoX parallel", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Positional: models.PosRotary, RotaryDim: 2,
			ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true}, 1 + 4 + 2 + 2 + 1},
		{"Llama GQA", models.Config{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Normalization: models.NormRMS,
			Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true,
			NoUnembedBias: true}, 1 + 8 + 2 + 2 + 1},
	} {
		tc.cfg.Seed, tc.cfg.InitializerRange = 5, 0.5
		m := testmodel.New(t, tc.cfg)
		// Non-zero biases everywhere, so every term is exercised.
		for i := range m.Params.Data {
			if m.Params.Data[i] == 0 {
				m.Params.Data[i] = 0.1 * float32(i%7-3)
			}
		}
		tokens := []int{1, 5, 2, 9, 3, 3, 7, 10, 4, 4, 0, 6}
		for _, pos := range []int{-1, 2} {
			d, err := circuits.DirectLogitAttribution(m, tokens, 6, pos, 3, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Terms) != tc.want {
				t.Errorf("%s: %d terms, want %d", tc.name, len(d.Terms), tc.want)
			}
			if !near(d.Sum(), d.LogitDiff, 1e-5*(1+math.Abs(d.LogitDiff))) {
				t.Errorf("%s pos %d: terms sum to %.7f, logit difference %.7f", tc.name, pos, d.Sum(), d.LogitDiff)
			}
			if math.Abs(d.LogitDiff) < 1e-3 {
				t.Errorf("%s: logit difference %g too small for a meaningful check", tc.name, d.LogitDiff)
			}
		}
	}
}

func TestPatchRestoresTheCleanRun(t *testing.T) {
	m := testmodel.New(t, models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 8, DVocab: 20, Seed: 9, InitializerRange: 0.3})
	clean, corrupted := []int{3, 7, 1, 7, 2, 9}, []int{3, 7, 1, 8, 2, 9} // differ at position 3 only
	r, err := circuits.Patch(m, clean, corrupted, 4, 11, circuits.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Patching the whole residual stream before layer 0 reproduces the clean run.
	_, cache, err := hooks.RunWithCache(m, clean, 1, 6, hooks.MustFilter("blocks.0.hook_resid_pre"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := hooks.RunWithHooks(m, corrupted, 1, 6, nil, hooks.Patch("blocks.0.hook_resid_pre", cache))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Logits.At(0, 5, 4) - p.Logits.At(0, 5, 11); !near(float64(got), r.CleanDiff, 1e-5) {
		t.Errorf("everything patched: %g, clean %g", got, r.CleanDiff)
	}
	// Patching the one differing position before layer 0, or the final
	// residual stream at the last position, restores it exactly; positions
	// where the prompts agree change nothing.
	for p := 0; p < 6; p++ {
		if got, w := r.Resid[0][p], b2f(p == 3); !near(got, w, 1e-4) {
			t.Errorf("resid_pre 0 at %d: %g, want %g", p, got, w)
		}
		if got, w := r.Resid[2][p], b2f(p == 5); !near(got, w, 1e-4) {
			t.Errorf("final resid at %d: %g, want %g", p, got, w)
		}
		if p < 3 {
			for l := 0; l < 2; l++ {
				for h := 0; h < 2; h++ {
					if got := r.HeadPos[l][h][p]; !near(got, 0, 1e-5) {
						t.Errorf("L%dH%d at %d, before the corruption: %g, want 0", l, h, p, got)
					}
				}
				if !near(r.AttnOut[l][p], 0, 1e-5) || !near(r.MLPOut[l][p], 0, 1e-5) {
					t.Errorf("layer %d outputs at %d before the corruption: %g, %g", l, p, r.AttnOut[l][p], r.MLPOut[l][p])
				}
			}
		}
	}
	if len(r.ResidLabels) != 3 || r.ResidLabels[2] != "resid_post 1" {
		t.Errorf("labels %v", r.ResidLabels)
	}
}

// Attribution patching approximates activation patching on a random model,
// and equals it where the metric is linear in the patched activation.
func TestAttributionApproximatesActivationPatching(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     models.Config
		minCorr float64
	}{
		{"attention-only LayerNorm", models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 10, DVocab: 30, AttnOnly: true, Seed: 4, InitializerRange: 0.2}, 0.9},
		{"no LayerNorm", models.Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 10, DVocab: 30, AttnOnly: true, Normalization: models.NormNone, Seed: 4, InitializerRange: 0.2}, 0.9},
	} {
		m := testmodel.New(t, tc.cfg)
		clean := []int{5, 9, 2, 17, 5, 9, 2, 17, 5, 9}
		corrupted := []int{5, 9, 2, 17, 5, 21, 2, 17, 5, 9}
		act, err := circuits.Patch(m, clean, corrupted, 2, 21, circuits.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		att, err := circuits.AttributionPatch(m, clean, corrupted, 2, 21)
		if err != nil {
			t.Fatal(err)
		}
		var x, y []float64
		for l := range act.HeadPos {
			for h := range act.HeadPos[l] {
				x = append(x, act.HeadPos[l][h]...)
				y = append(y, att.HeadPos[l][h]...)
			}
		}
		for i := range act.Resid {
			x = append(x, act.Resid[i]...)
			y = append(y, att.Resid[i]...)
		}
		r := pearson(x, y)
		t.Logf("%s: correlation of attribution with activation patching over %d cells: %.4f", tc.name, len(x), r)
		if r < tc.minCorr {
			t.Errorf("%s: correlation %.4f < %.2f", tc.name, r, tc.minCorr)
		}
		if tc.cfg.Normalization == models.NormNone {
			// Linear: the final residual stream, and the last layer's heads.
			for p := range act.Resid[2] {
				if !near(act.Resid[2][p], att.Resid[2][p], 1e-4) {
					t.Errorf("final resid at %d: activation %g, attribution %g", p, act.Resid[2][p], att.Resid[2][p])
				}
			}
			for h := range act.Heads[1] {
				if !near(act.Heads[1][h], att.Heads[1][h], 1e-4) {
					t.Errorf("L1H%d: activation %g, attribution %g", h, act.Heads[1][h], att.Heads[1][h])
				}
			}
		}
	}
}

func TestPatchBadInput(t *testing.T) {
	m := carrierModel(t)
	for _, tc := range []struct {
		name           string
		clean, corrupt []int
		answer, wrong  int
	}{
		{"different lengths", []int{1, 3, 3}, []int{2, 3, 3, 3}, 1, 2},
		{"empty", nil, nil, 1, 2},
		{"longer than the context", []int{1, 3, 3, 3, 3}, []int{2, 3, 3, 3, 3}, 1, 2},
		{"token out of vocabulary", []int{1, 3, 3, 6}, []int{2, 3, 3, 3}, 1, 2},
		{"answer out of vocabulary", carrierClean, carrierCorrupted, 6, 2},
		{"wrong negative", carrierClean, carrierCorrupted, 1, -1},
		{"answer equals wrong", carrierClean, carrierCorrupted, 1, 1},
		{"nothing to restore", carrierClean, carrierClean, 1, 2},
	} {
		if _, err := circuits.Patch(m, tc.clean, tc.corrupt, tc.answer, tc.wrong, circuits.PatchOptions{}); err == nil {
			t.Errorf("Patch, %s: no error", tc.name)
		}
		if _, err := circuits.AttributionPatch(m, tc.clean, tc.corrupt, tc.answer, tc.wrong); err == nil {
			t.Errorf("AttributionPatch, %s: no error", tc.name)
		}
	}
	for _, tc := range []struct {
		name          string
		tokens        []int
		T, pos        int
		answer, wrong int
	}{
		{"ragged batch", []int{1, 2, 3}, 2, 0, 1, 2},
		{"position out of range", []int{1, 2}, 2, 2, 1, 2},
		{"answer out of vocabulary", []int{1, 2}, 2, 0, 9, 2},
		{"zero length", []int{1, 2}, 0, 0, 1, 2},
	} {
		if _, err := circuits.DirectLogitAttribution(m, tc.tokens, tc.T, tc.pos, tc.answer, tc.wrong); err == nil {
			t.Errorf("DLA, %s: no error", tc.name)
		}
	}
}
