package circuits

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

var lensConfigs = []struct {
	name string
	cfg  models.Config
}{
	{"ln", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Seed: 1}},
	{"rms-untied", models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Normalization: models.NormRMS, Untied: true, Seed: 2}},
	{"none", models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Normalization: models.NormNone, AttnOnly: true, Seed: 3}},
}

func lensTokens(seed uint64, n, T, V int) [][]int {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([][]int, n)
	for i := range out {
		out[i] = make([]int, T)
		for j := range out[i] {
			out[i][j] = rng.IntN(V)
		}
	}
	return out
}

// TestLogitLensLastLayerIsTheModel: the final normalization and the
// unembedding applied to the last residual stream give the model's logits.
func TestLogitLensLastLayerIsTheModel(t *testing.T) {
	for _, tc := range lensConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.Random(t, tc.cfg, 0.5)
			toks := lensTokens(1, 1, 7, tc.cfg.DVocab)[0]
			u, err := newUnembedder(m)
			if err != nil {
				t.Fatal(err)
			}
			res, final, err := residuals(m, toks, 1, len(toks))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, final.Len())
			u.logits(got, res[len(res)-1], len(toks))
			var d float64
			for i, x := range final.Data {
				d = math.Max(d, math.Abs(float64(x-got[i])))
			}
			if d > 1e-4 {
				t.Errorf("lens logits differ from the model's by %.3g", d)
			}
			lens, err := ApplyLens(m, toks, LensOptions{Answer: 3})
			if err != nil {
				t.Fatal(err)
			}
			last := len(lens.Layers) - 1
			if kl := float64(lens.MeanKL[last]); kl > 1e-6 {
				t.Errorf("KL at the last layer %.3g", kl)
			}
			if float64(lens.MeanKL[0]) < 1e-3 {
				t.Errorf("KL at the embeddings %.3g: the test shows nothing", lens.MeanKL[0])
			}
			if r := lens.AnswerRank[last][len(toks)-1]; r < 1 {
				t.Errorf("answer rank %d", r)
			}
		})
	}
}

// TestTunedLensGradient checks the translators' gradient against central
// differences of the lens loss.
func TestTunedLensGradient(t *testing.T) {
	for _, tc := range lensConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := testmodel.Random(t, tc.cfg, 0.5)
			toks := lensTokens(2, 2, 6, tc.cfg.DVocab)
			flat := append(append([]int(nil), toks[0]...), toks[1]...)
			res, final, err := residuals(m, flat, 2, 6)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := newUnembedder(m)
			target := finalLogProbs(final, 12)
			lens := NewTunedLens(m.Config)
			rng := rand.New(rand.NewPCG(5, 5))
			for i := range lens.Params {
				lens.Params[i] = float32(rng.NormFloat64() * 0.2)
			}
			l := 0
			grad := make([]float32, len(lens.Params))
			lens.layerLoss(u, l, res[l], target, grad)
			C := lens.DModel
			for trial := 0; trial < 12; trial++ {
				i := rng.IntN(C*C + C) // layer 0's A and b
				old := lens.Params[i]
				const h = 1e-2
				lens.Params[i] = old + h
				up := lens.layerLoss(u, l, res[l], target, nil)
				lens.Params[i] = old - h
				down := lens.layerLoss(u, l, res[l], target, nil)
				lens.Params[i] = old
				num := (up - down) / (2 * h)
				if d := math.Abs(num - float64(grad[i])); d > 1e-3+1e-2*math.Abs(num) {
					t.Errorf("param %d: analytic %.6g, numeric %.6g", i, grad[i], num)
				}
			}
		})
	}
}

// TestTunedLensBeatsLogitLensHeldOut trains a tuned lens and compares the
// two lenses on held-out sequences: the tuned lens's KL to the final
// distribution is at most the logit lens's at every layer, and the lens
// saves and reloads unchanged.
func TestTunedLensBeatsLogitLensHeldOut(t *testing.T) {
	cfg := lensConfigs[0].cfg
	m := testmodel.Random(t, cfg, 0.5)
	lens, losses, err := TrainTunedLens(m, lensTokens(3, 64, 8, cfg.DVocab), TunedLensOptions{Steps: 150, LR: 1e-2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !(losses[len(losses)-1] < losses[0]) {
		t.Errorf("training loss %.4f -> %.4f", losses[0], losses[len(losses)-1])
	}
	dir := t.TempDir()
	if err := lens.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadTunedLens(dir)
	if err != nil {
		t.Fatal(err)
	}
	logit, tuned, err := LensKL(m, lensTokens(4, 16, 8, cfg.DVocab), back)
	if err != nil {
		t.Fatal(err)
	}
	for l := range logit {
		t.Logf("layer %d: KL logit lens %.4f, tuned lens %.4f", l, logit[l], tuned[l])
		if tuned[l] > logit[l]+1e-6 {
			t.Errorf("layer %d: tuned lens KL %.4f above the logit lens's %.4f", l, tuned[l], logit[l])
		}
	}
	if tuned[0] > 0.9*logit[0] {
		t.Errorf("the tuned lens barely improves on the embeddings: %.4f vs %.4f", tuned[0], logit[0])
	}
	if _, err := LoadTunedLens(t.TempDir()); err == nil {
		t.Error("loading from an empty directory: no error")
	}
	other := cfg
	other.DModel = 16
	if _, _, err := LensKL(testmodel.Random(t, other, 0.5), [][]int{{1, 2}}, back); err == nil {
		t.Error("a lens for another model: no error")
	}
}
