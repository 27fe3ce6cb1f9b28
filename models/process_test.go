package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// wildModel returns a model whose every parameter matters: weights far
// from GPT-2's small init, LayerNorm gains 1±0.3, non-zero biases
// (lm_head.bias included), so that a processing step that drops a term
// shows in the logits.
func wildModel(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	for _, q := range m.Params.List() {
		s := m.Params.slice(q.Name)
		mean, std := 0.0, 0.3
		switch {
		case hasSuffix(q.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight"):
			mean = 1
		case hasSuffix(q.Name, ".bias"):
			std = 0.2
		}
		for i := range s {
			s[i] = float32(mean + std*r.NormFloat64())
		}
	}
	return m
}

func processConfigs() map[string]Config {
	return map[string]Config{
		"gpt2":        {NLayers: 2, NHeads: 3, DModel: 12, NCtx: 9, DVocab: 17, Seed: 1},
		"attn-only":   {NLayers: 2, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 13, AttnOnly: true, Seed: 2},
		"untied":      {NLayers: 1, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 11, Untied: true, Seed: 3},
		"odd-dims":    {NLayers: 2, NHeads: 3, DModel: 10, DHead: 3, DMLP: 7, NCtx: 9, DVocab: 9, Seed: 4},
		"no-ln":       {NLayers: 2, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 11, Normalization: NormNone, Seed: 5},
		"shortformer": {NLayers: 2, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 11, Positional: PosShortformer, AttnOnly: true, Seed: 6},
		"neox": {NLayers: 2, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 11, Positional: PosRotary, RotaryDim: 2,
			ParallelAttnMLP: true, ActFn: ActGelu, Untied: true, NoUnembedBias: true, Seed: 7},
		"llama-gqa": {NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 8, DMLP: 12, NCtx: 9, DVocab: 11, Normalization: NormRMS,
			Positional: PosRotary, ActFn: ActSilu, GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true,
			NoUnembedBias: true, Seed: 8},
		"qwen2-tied": {NLayers: 1, NHeads: 2, NKVHeads: 1, DModel: 8, NCtx: 9, DVocab: 11, Normalization: NormRMS,
			Positional: PosRotary, ActFn: ActSilu, GatedMLP: true, NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true, Seed: 9},
	}
}

// forwardLogits runs tokens [2,T] and returns the logits.
func forwardLogits(t *testing.T, m *Model, tokens []int) []float32 {
	t.Helper()
	p, err := m.Forward(tokens, 2, len(tokens)/2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(p.Logits.Data)
}

// logitDiffs returns the largest change of the raw logits, of the logits
// minus each position's mean, and of the log-probabilities.
func logitDiffs(a, b []float32, V int) (raw, centred, logProb float64) {
	for i := 0; i < len(a); i += V {
		ra, rb := a[i:i+V], b[i:i+V]
		var ma, mb float64
		for j := range ra {
			ma += float64(ra[j])
			mb += float64(rb[j])
		}
		ma, mb = ma/float64(V), mb/float64(V)
		la, lb := tensor.LogSumExp(ra), tensor.LogSumExp(rb)
		for j := range ra {
			raw = max(raw, math.Abs(float64(ra[j])-float64(rb[j])))
			centred = max(centred, math.Abs((float64(ra[j])-ma)-(float64(rb[j])-mb)))
			logProb = max(logProb, math.Abs((float64(ra[j])-la)-(float64(rb[j])-lb)))
		}
	}
	return
}

// TestProcessKeepsOutput: each step alone, and all of them, leaves the
// log-probabilities unchanged within 1e-4; all but center_unembed leave
// the raw logits unchanged too, and center_unembed only shifts each
// position's logits by a constant. Steps a model cannot take are refused
// (checked in TestProcessRefuses).
func TestProcessKeepsOutput(t *testing.T) {
	const tol = 1e-4
	opts := map[string]ProcessOptions{
		StepFoldLN:          {FoldLN: true},
		StepCenterWriting:   {CenterWriting: true},
		StepCenterUnembed:   {CenterUnembed: true},
		StepFoldValueBiases: {FoldValueBiases: true},
		"all":               AllProcessing,
	}
	for cname, cfg := range processConfigs() {
		for oname, o := range opts {
			cfg := cfg.WithDefaults()
			if (o.FoldLN && (!cfg.HasNorm() || cfg.Positional == PosShortformer)) || (o.CenterWriting && !cfg.HasNorm()) {
				continue
			}
			t.Run(cname+"/"+oname, func(t *testing.T) {
				m := wildModel(t, cfg, 11)
				r := rand.New(rand.NewPCG(5, 5))
				tokens := make([]int, 2*cfg.NCtx)
				for i := range tokens {
					tokens[i] = r.IntN(cfg.DVocab)
				}
				before := forwardLogits(t, m, tokens)
				if err := Process(m, o); err != nil {
					t.Fatal(err)
				}
				after := forwardLogits(t, m, tokens)
				raw, centred, lp := logitDiffs(before, after, cfg.DVocab)
				t.Logf("max |Δ| raw %.2e, centred %.2e, log-prob %.2e", raw, centred, lp)
				if lp > tol || centred > tol {
					t.Errorf("log-probs changed by %.3g, centred logits by %.3g (> %g)", lp, centred, tol)
				}
				if !o.CenterUnembed && raw > tol {
					t.Errorf("logits changed by %.3g (> %g)", raw, tol)
				}
				if o.CenterUnembed && raw < 1e-3 {
					t.Errorf("center_unembed left the logits' mean (max shift %.3g): did it run?", raw)
				}
			})
		}
	}
}

// colMeans returns the mean of each column of x [n,O].
func colMeans(x []float32, O int) []float64 {
	m := make([]float64, O)
	n := len(x) / O
	for i := 0; i < n; i++ {
		for j, v := range x[i*O : (i+1)*O] {
			m[j] += float64(v) / float64(n)
		}
	}
	return m
}

func rowMeans(x []float32, C int) []float64 {
	var m []float64
	for i := 0; i+C <= len(x); i += C {
		var s float64
		for _, v := range x[i : i+C] {
			s += float64(v)
		}
		m = append(m, s/float64(C))
	}
	return m
}

func maxAbs64(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// TestProcessDoesWhatItSays checks each step's invariant on the wild GPT-2:
// folded LayerNorms are gain 1, bias 0 and their readers are centred along
// d_model; written vectors are centred along d_model; W_U and b_U are
// centred over the vocabulary; value biases are 0 with b_O absorbing them.
func TestProcessDoesWhatItSays(t *testing.T) {
	const tol = 1e-6
	cfg := processConfigs()["gpt2"].WithDefaults()
	C, HD, M, V := cfg.DModel, cfg.NHeads*cfg.DHead, cfg.DMLP, cfg.DVocab
	check := func(t *testing.T, what string, got float64) {
		t.Helper()
		if got > tol {
			t.Errorf("%s: %.3g, want 0", what, got)
		}
	}

	t.Run(StepFoldLN, func(t *testing.T) {
		m := wildModel(t, cfg, 1)
		if err := Process(m, ProcessOptions{FoldLN: true}); err != nil {
			t.Fatal(err)
		}
		if !m.Config.Untied {
			t.Error("fold_ln left the unembedding tied")
		}
		for _, q := range m.Params.List() {
			s := m.Params.slice(q.Name)
			if hasSuffix(q.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight") && slices.ContainsFunc(s, func(x float32) bool { return x != 1 }) {
				t.Errorf("%s is not all 1 after fold_ln", q.Name)
			}
			if hasSuffix(q.Name, "ln_1.bias", "ln_2.bias", "ln_f.bias") && !allZero(s) {
				t.Errorf("%s is not all 0 after fold_ln", q.Name)
			}
		}
		for l := 0; l < cfg.NLayers; l++ {
			w := m.Params.layer(l)
			check(t, fmt.Sprintf("layer %d: mean along d_model of W_Q|W_K|W_V", l), maxAbs64(colMeans(w.attnW, 3*HD)))
			check(t, fmt.Sprintf("layer %d: mean along d_model of W_in", l), maxAbs64(colMeans(w.fcW, M)))
		}
		wu, _ := m.Params.unembed(m.Config)
		check(t, "mean along d_model of W_U", maxAbs64(rowMeans(wu, C)))
		if got := ProcessedSteps(m); got != (ProcessOptions{FoldLN: true}) {
			t.Errorf("ProcessedSteps = %v, want fold_ln", got)
		}
	})

	t.Run(StepCenterWriting, func(t *testing.T) {
		m := wildModel(t, cfg, 2)
		wte0 := slices.Clone(m.Params.slice("wte.weight"))
		if err := Process(m, ProcessOptions{CenterWriting: true}); err != nil {
			t.Fatal(err)
		}
		check(t, "W_E row means", maxAbs64(rowMeans(m.Params.slice("wte.weight"), C)))
		check(t, "W_pos row means", maxAbs64(rowMeans(m.Params.slice("wpe.weight"), C)))
		for l := 0; l < cfg.NLayers; l++ {
			w := m.Params.layer(l)
			check(t, fmt.Sprintf("layer %d W_O", l), maxAbs64(rowMeans(w.projW, C)))
			check(t, fmt.Sprintf("layer %d b_O", l), maxAbs64(rowMeans(w.projB, C)))
			check(t, fmt.Sprintf("layer %d W_out", l), maxAbs64(rowMeans(w.fcProjW, C)))
			check(t, fmt.Sprintf("layer %d b_out", l), maxAbs64(rowMeans(w.fcPrB, C)))
		}
		// The unembedding was untied first and keeps the uncentred W_E.
		if !slices.Equal(m.Params.slice("lm_head.weight"), wte0) {
			t.Error("center_writing changed the unembedding")
		}
		if got := ProcessedSteps(m); !got.CenterWriting || got.FoldLN {
			t.Errorf("ProcessedSteps = %v, want center_writing", got)
		}
	})

	t.Run(StepCenterUnembed, func(t *testing.T) {
		m := wildModel(t, cfg, 3)
		if err := Process(m, ProcessOptions{CenterUnembed: true}); err != nil {
			t.Fatal(err)
		}
		wu, bu := m.Params.unembed(m.Config)
		check(t, "W_U mean over the vocabulary", maxAbs64(colMeans(wu, C)))
		check(t, "b_U mean", maxAbs64(rowMeans(bu, V)))
		if got := ProcessedSteps(m); got != (ProcessOptions{CenterUnembed: true}) {
			t.Errorf("ProcessedSteps = %v, want center_unembed", got)
		}
	})

	t.Run(StepFoldValueBiases, func(t *testing.T) {
		m := wildModel(t, cfg, 4)
		before := m.Params.Clone()
		if err := Process(m, ProcessOptions{FoldValueBiases: true}); err != nil {
			t.Fatal(err)
		}
		if m.Config.Untied {
			t.Error("fold_value_biases untied the model, which it does not need")
		}
		for l := 0; l < cfg.NLayers; l++ {
			w, w0 := m.Params.layer(l), before.layer(l)
			if !allZero(w.attnB[2*HD:]) {
				t.Errorf("layer %d: b_V not zero", l)
			}
			if !slices.Equal(w.attnB[:2*HD], w0.attnB[:2*HD]) {
				t.Errorf("layer %d: b_Q or b_K changed", l)
			}
			for j := 0; j < C; j++ {
				want := float64(w0.projB[j])
				for i := 0; i < HD; i++ {
					want += float64(w0.attnB[2*HD+i]) * float64(w0.projW[i*C+j])
				}
				if math.Abs(float64(w.projB[j])-want) > 1e-5 {
					t.Errorf("layer %d: b_O[%d] = %v, want b_O + b_V·W_O = %v", l, j, w.projB[j], want)
				}
			}
		}
		if got := ProcessedSteps(m); got != (ProcessOptions{FoldValueBiases: true}) {
			t.Errorf("ProcessedSteps = %v, want fold_value_biases", got)
		}
	})
}

// TestFoldIntoByHand checks the fold on numbers worked out by hand:
// W = [[1,2],[3,4]], gain (2,3), bias (1,-1), b = (0.5,0):
// b + bias·W = (0.5-2, 0-2) = (-1.5,-2); diag(gain)·W = [[2,4],[9,12]],
// column means (5.5, 8), so W becomes [[-3.5,-4],[3.5,4]].
func TestFoldIntoByHand(t *testing.T) {
	W := []float32{1, 2, 3, 4}
	b := []float32{0.5, 0}
	foldInto(W, b, []float32{2, 3}, []float32{1, -1}, 2, 2, true)
	if !slices.Equal(W, []float32{-3.5, -4, 3.5, 4}) || !slices.Equal(b, []float32{-1.5, -2}) {
		t.Errorf("W = %v, b = %v; want [-3.5 -4 3.5 4], [-1.5 -2]", W, b)
	}
}

// TestCenterUnembedByHand: W_U = lm_head.weightᵀ with lm_head rows (vocab)
// (1,4), (2,5), (6,0): column means of lm_head (3,3); b_U (1,2,6) → (-2,-1,3).
func TestCenterUnembedByHand(t *testing.T) {
	cfg := Config{NLayers: 1, NHeads: 1, DModel: 2, NCtx: 2, DVocab: 3, Untied: true, AttnOnly: true}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Params.slice("lm_head.weight"), []float32{1, 4, 2, 5, 6, 0})
	copy(m.Params.slice("lm_head.bias"), []float32{1, 2, 6})
	if err := CenterUnembed(m); err != nil {
		t.Fatal(err)
	}
	if w, b := m.Params.slice("lm_head.weight"), m.Params.slice("lm_head.bias"); !slices.Equal(w, []float32{-2, 1, -1, 2, 3, -3}) || !slices.Equal(b, []float32{-2, -1, 3}) {
		t.Errorf("lm_head.weight %v, lm_head.bias %v", w, b)
	}
}

func TestProcessRefuses(t *testing.T) {
	cfgs := processConfigs()
	tests := []struct {
		cfg  string
		opt  string
		want string
	}{
		{"no-ln", "fold_ln", "fold_ln: the model has no LayerNorm"},
		{"no-ln", "center_writing", "center_writing: the model has no LayerNorm"},
		{"no-ln", "center_unembed,fold_ln", "fold_ln"},
		{"shortformer", "fold_ln", "shortformer"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg+"/"+tt.opt, func(t *testing.T) {
			m := wildModel(t, cfgs[tt.cfg], 1)
			before := m.Params.Clone()
			o, err := ParseProcessOptions(tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			err = Process(m, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if m.Config.Untied || !slices.Equal(m.Params.Data, before.Data) {
				t.Error("a refused Process changed the model")
			}
		})
	}
	m := wildModel(t, cfgs["gpt2"], 1)
	for name, fn := range map[string]func(*Model) error{"fold_ln": FoldLayerNorm, "center_writing": CenterWritingWeights, "center_unembed": CenterUnembed} {
		if err := fn(m); err == nil || !strings.Contains(err.Error(), "Untie") {
			t.Errorf("%s on a tied model: error %v, want one saying to untie", name, err)
		}
	}
}

func TestParseProcessOptions(t *testing.T) {
	tests := []struct {
		in   string
		want ProcessOptions
		err  string
	}{
		{"", ProcessOptions{}, ""},
		{"none", ProcessOptions{}, ""},
		{"all", AllProcessing, ""},
		{"fold_value_biases, fold_ln", ProcessOptions{FoldLN: true, FoldValueBiases: true}, ""},
		{"fold_ln,center_writing,center_unembed,fold_value_biases", AllProcessing, ""},
		{"fold_layer_norm", ProcessOptions{}, `unknown processing step "fold_layer_norm"`},
	}
	for _, tt := range tests {
		got, err := ParseProcessOptions(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "fold_value_biases") {
				t.Errorf("ParseProcessOptions(%q) error %v, want %q and the list of steps", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseProcessOptions(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if again, _ := ParseProcessOptions(got.String()); again != got {
			t.Errorf("String %q does not parse back", got.String())
		}
	}
	if s := AllProcessing.String(); s != "fold_ln,center_writing,center_unembed,fold_value_biases" {
		t.Errorf("AllProcessing.String() = %q", s)
	}
}

// A processed model saves as a plain GPT-2 checkpoint (LayerNorm gains 1,
// biases 0, untied) and loads back bit for bit, with its invariants;
// processing it again changes it only by float rounding.
func TestProcessSaveLoad(t *testing.T) {
	cfg := processConfigs()["gpt2"]
	m := wildModel(t, cfg, 8)
	if err := Process(m, AllProcessing); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "processed")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != m.Config || !got.Config.Untied || got.Config.Normalization != NormLN {
		t.Fatalf("config %+v, want %+v", got.Config, m.Config)
	}
	sameParams(t, m.Params, got.Params)
	if ps := ProcessedSteps(got); ps != AllProcessing {
		t.Errorf("ProcessedSteps after load = %v, want all", ps)
	}
	again := got.Params.Clone()
	if err := Process(got, AllProcessing); err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range again.Data {
		worst = max(worst, math.Abs(float64(again.Data[i])-float64(got.Params.Data[i])))
	}
	t.Logf("processing twice: max |Δparam| %.2e", worst)
	if worst > 1e-6 {
		t.Errorf("processing a processed model changed a parameter by %.3g", worst)
	}
	if ps := ProcessedSteps(wildModel(t, cfg, 8)); ps != (ProcessOptions{}) {
		t.Errorf("ProcessedSteps of an unprocessed model = %v", ps)
	}
}

// TestProcessNewArchitectures: fold_ln on RMSNorm leaves every gain 1 and
// does not centre (RMSNorm keeps the mean), center_writing is skipped for
// RMSNorm as TransformerLens skips it, value biases fold through the
// key/value head each query head reads, and the biases folding needs are
// added (so a processed GPT-NeoX is no longer a GPTNeoXForCausalLM, which
// has no b_U, and saying so is the save's error).
func TestProcessNewArchitectures(t *testing.T) {
	cfgs := processConfigs()
	m := wildModel(t, cfgs["llama-gqa"].WithDefaults(), 1)
	if err := Process(m, AllProcessing); err != nil {
		t.Fatal(err)
	}
	if got := ProcessedSteps(m); !got.FoldLN || got.CenterWriting || !got.CenterUnembed || !got.FoldValueBiases {
		t.Errorf("llama: ProcessedSteps = %v", got)
	}
	if m.Config.NoUnembedBias != true || m.Config.NoQKVBias != true {
		t.Errorf("llama: fold_ln of RMSNorm added biases: %+v", m.Config)
	}

	q := wildModel(t, cfgs["qwen2-tied"].WithDefaults(), 2)
	if err := Process(q, ProcessOptions{FoldValueBiases: true}); err != nil {
		t.Fatal(err)
	}
	if q.Config.NoAttnOutBias || !ProcessedSteps(q).FoldValueBiases {
		t.Errorf("qwen2: b_O not added or b_V not folded: %+v", q.Config)
	}

	n := wildModel(t, cfgs["neox"].WithDefaults(), 3)
	if err := Process(n, ProcessOptions{FoldLN: true}); err != nil {
		t.Fatal(err)
	}
	if n.Config.NoUnembedBias {
		t.Error("neox: fold_ln did not add b_U for ln_final's bias")
	}
	err := n.Save(filepath.Join(t.TempDir(), "ckpt"))
	if err == nil || !strings.Contains(err.Error(), "no Hugging Face class expresses this architecture") {
		t.Errorf("saving a processed GPT-NeoX: %v", err)
	}
}
