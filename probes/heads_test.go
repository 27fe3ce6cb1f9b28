package probes

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

func ovStrongCopy(tok int) []float32 {
	r := make([]float32, testmodel.HandVocab)
	r[tok] = 20
	return r
}

// TestHeadsHandSet: a previous-token head, a fixed-offset head that is an
// induction head at |r| = 5, a head attending to itself that copies, and one
// attending to itself that does not: the roles follow.
func TestHeadsHandSet(t *testing.T) {
	m := testmodel.HandSet(t, []int{1, 4, 0, 0}, []func(int) []float32{testmodel.OVNext, testmodel.OVNegate, testmodel.OVCopy, testmodel.OVNext})
	s, err := Heads(m, HeadOptions{Repeat: RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: 5}, Batch: 8, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{RolePreviousToken, RoleInduction, RoleCopying, RoleNone}; !slices.Equal(s.Roles[0], want) {
		t.Errorf("roles %v, want %v", s.Roles[0], want)
	}
	// Previous-token detector on [BOS] + r + r (11 tokens): row 0 can only
	// attend to itself, every other row to its previous token.
	near(t, "previous token", s.PreviousToken[0][0], 10.0/11, 1e-6)
	near(t, "prefix matching", s.PrefixMatching[0][1], 1, 1e-6)
	near(t, "copying", s.Copying[0][2], 1, 1e-6)
	near(t, "self head, previous token", s.PreviousToken[0][2], 0, 1e-6)
	if s.Layers != 1 || s.Heads != 4 || s.InductionLoss == nil || s.Options.Repeat.Vocab != testmodel.HandVocab || s.Options.Thresholds.PrefixMatching != 0.4 {
		t.Errorf("header: %+v", s)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("JSON: %v", err)
	}

	// Detector prompts of one's own, with the BOS excluded: every row the
	// previous-token head keeps attends to its previous token.
	toks := []int{0, 3, 4, 5, 6, 7, 0, 9, 9, 2, 1, 1}
	s2, err := Heads(m, HeadOptions{DetectTokens: toks, DetectBatch: 2, Detect: DetectOptions{ExcludeBOS: true},
		Repeat: RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: 5}, Batch: 8, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "previous token, BOS excluded", s2.PreviousToken[0][0], 1, 1e-6)
	d, err := Detect(m, toks, 2, 6, PreviousToken, DetectOptions{ExcludeBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Detect", d[0][0], s2.PreviousToken[0][0], 0)
	// Duplicate tokens 9,9 and 1,1 in prompt 2: the self-attending heads
	// put all attention on the diagonal, never on an earlier duplicate.
	near(t, "duplicate, self head", s2.DuplicateToken[0][2], 0, 1e-6)

	if _, err := Heads(m, HeadOptions{DetectTokens: toks, DetectBatch: 5}); err == nil {
		t.Error("12 tokens as 5 prompts: no error")
	}
	if _, err := Detect(m, []int{0, 99}, 1, 2, PreviousToken, DetectOptions{}); err == nil {
		t.Error("token out of range: no error")
	}
	if _, err := Detect(m, make([]int, 17), 1, 17, PreviousToken, DetectOptions{}); err == nil {
		t.Error("prompt longer than the context: no error")
	}
	if _, err := Detect(m, []int{1}, 1, 1, PreviousToken, DetectOptions{}); err == nil {
		t.Error("one position: no error")
	}
}

func TestRolesThresholds(t *testing.T) {
	s := &HeadScores{Layers: 1, Heads: 5, HeadMaps: HeadMaps{
		PrefixMatching: [][]float64{{0.4, 0.39, 0.1, 0.1, 0.1}},
		PreviousToken:  [][]float64{{0.9, 0.4, 0.1, 0.1, 0.1}},
		DuplicateToken: [][]float64{{0.9, 0.9, 0.4, 0.1, 0.1}},
		Copying:        [][]float64{{0.9, 0.9, 0.9, 0.5, 0.49}},
	}}
	want := []string{RoleInduction, RolePreviousToken, RoleDuplicateToken, RoleCopying, RoleNone}
	if got := Roles(s, Thresholds{}); !slices.Equal(got[0], want) {
		t.Errorf("roles %v, want %v", got[0], want)
	}
	if got := Roles(s, Thresholds{PrefixMatching: 0.3}); got[0][1] != RoleInduction {
		t.Errorf("threshold 0.3: %v", got[0])
	}
}

func TestICLPositions(t *testing.T) {
	for _, tc := range []struct{ T, early, late int }{
		{512, 50, 500}, {1024, 100, 1000}, {64, 6, 62}, {16, 1, 15}, {3, 1, 2},
	} {
		e, l, err := ICLPositions(tc.T)
		if err != nil || e != tc.early || l != tc.late {
			t.Errorf("T=%d: %d, %d, %v; want %d, %d", tc.T, e, l, err, tc.early, tc.late)
		}
	}
	if _, _, err := ICLPositions(2); err == nil {
		t.Error("T=2: no error")
	}
}

// TestICLScoreHandSet: prompts of period 5 under a head that attends 4 back
// and copies with logit 20 (the embedding adds 1 to the current token's logit
// through the direct path): token 15 is predicted from token 10 (loss
// ln(1+e^-19+14e^-20)); token 1 only sees token 0, which it copies wrongly
// (loss ln(e^21+15)).
func TestICLScoreHandSet(t *testing.T) {
	m := testmodel.HandSet(t, []int{4}, []func(int) []float32{ovStrongCopy})
	var toks []int
	for b := range 2 {
		for k := range 16 {
			toks = append(toks, 1+(k+3*b)%5)
		}
	}
	icl, err := ICLScore(m, toks, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	if icl.Early != 1 || icl.Late != 15 {
		t.Errorf("positions %d, %d", icl.Early, icl.Late)
	}
	near(t, "late loss", icl.LossLate, math.Log1p(math.Exp(-19)+14*math.Exp(-20)), 1e-6)
	near(t, "early loss", icl.LossEarly, math.Log(math.Exp(21)+15), 1e-5)
	near(t, "score", icl.Score, icl.LossLate-icl.LossEarly, 1e-12)
	if _, err := ICLScore(m, toks[:2], 1, 2); err == nil {
		t.Error("2 tokens: no error")
	}
	if _, err := ICLScore(m, toks, 1, 16); err == nil {
		t.Error("32 tokens as 1×16: no error")
	}
}

// TestHeadsGroupedQuery: a grouped-query model and the same model with each
// key/value head copied out to every query head it serves are one function,
// so their logits and every head score must agree; and the scores run on a
// GPT-NeoX-shaped model.
func TestHeadsGroupedQuery(t *testing.T) {
	cfg := models.Config{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 16, NCtx: 24, DVocab: 30, Normalization: models.NormRMS,
		Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true, NoAttnOutBias: true, NoMLPBias: true,
		NoUnembedBias: true, Untied: true, Seed: 3}
	gqa := testmodel.Random(t, cfg, 0.4)
	full := cfg
	full.NKVHeads = cfg.NHeads
	mha := testmodel.Zero(t, full)
	c := gqa.Config
	D, H, K := c.DHead, c.NHeads, c.NKVHeads
	for _, q := range gqa.Params.List() {
		src, dst := gqa.Params.Get(q.Name), mha.Params.Get(q.Name)
		if len(src.Data) == len(dst.Data) {
			copy(dst.Data, src.Data)
			continue
		}
		// c_attn [C, H·D + 2·K·D] (or its bias) -> [C, 3·H·D].
		rows, in, out := len(src.Data)/((H+2*K)*D), (H+2*K)*D, 3*H*D
		for r := 0; r < rows; r++ {
			for j := 0; j < out; j++ {
				part, hd := j/(H*D), j%(H*D)
				h, d := hd/D, hd%D
				var from int
				switch part {
				case 0:
					from = h*D + d
				default:
					from = H*D + (part-1)*K*D + (h/(H/K))*D + d
				}
				dst.Data[r*out+j] = src.Data[r*in+from]
			}
		}
	}
	tokens := []int{1, 5, 2, 9, 3, 3, 7, 10, 4, 4, 0, 6}
	p1, err := gqa.Forward(tokens, 1, len(tokens), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := mha.Forward(tokens, 1, len(tokens), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1.Logits.Data {
		if d := math.Abs(float64(p1.Logits.Data[i] - p2.Logits.Data[i])); d > 1e-5 {
			t.Fatalf("logit %d differs by %g between the grouped-query model and its expansion", i, d)
		}
	}
	o := HeadOptions{Repeat: RepeatOptions{Batch: 4}}
	s1, err := Heads(gqa, o)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Heads(mha, o)
	if err != nil {
		t.Fatal(err)
	}
	for l := range s1.Copying {
		for h := range s1.Copying[l] {
			for _, pair := range [][2]float64{{s1.Copying[l][h], s2.Copying[l][h]}, {s1.PrefixMatching[l][h], s2.PrefixMatching[l][h]},
				{s1.PreviousToken[l][h], s2.PreviousToken[l][h]}} {
				if math.Abs(pair[0]-pair[1]) > 1e-5 {
					t.Errorf("L%dH%d: score %g, expanded model %g", l, h, pair[0], pair[1])
				}
			}
		}
	}

	neox := testmodel.Random(t, models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 24, DVocab: 30, Positional: models.PosRotary,
		RotaryDim: 4, ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true, Seed: 4}, 0.4)
	if _, err := Heads(neox, o); err != nil {
		t.Fatal(err)
	}
}
