package sae_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

const hook = "blocks.0.mlp.hook_post"

func mlpModel(t *testing.T) *models.Model {
	return testmodel.New(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 64, Seed: 3})
}

func source(t *testing.T, seed uint64) data.Source {
	src, err := data.New(data.Config{Kind: data.KindRepeated, Seed: seed, Repeated: data.RepeatedConfig{Vocab: 64, Len: 7}})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestStoreServesHookActivations checks that every row the store serves is
// the hook's activation at some non-BOS token, and that normalisation
// makes the mean norm sqrt(d).
func TestStoreServesHookActivations(t *testing.T) {
	m := mlpModel(t)
	ctx := context.Background()
	const bos = 0
	st, err := sae.NewStore(ctx, m, source(t, 1), bos, sae.StoreConfig{Hook: hook, Batch: 2, Buffer: 64, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	// The rows of the first batches, straight from a forward pass.
	b := data.NewBatch(16, 15)
	if err := source(t, 1).Next(b); err != nil {
		t.Fatal(err)
	}
	var want [][]float32
	if _, err := sae.Activations(m, b.Tokens, b.B, b.T+1, hook, func(i int, a []float32) {
		if b.Tokens[i] != bos {
			want = append(want, append([]float32(nil), a...))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if got := st.Tokens(); got < 64 {
		t.Errorf("%d tokens read to fill a buffer of 64", got)
	}
	d := st.D()
	row := make([]float64, d)
	var norm float64
	for i := 0; i < 32; i++ {
		if err := st.Next(ctx, row); err != nil {
			t.Fatal(err)
		}
		var n2 float64
		for _, v := range row {
			n2 += v * v
		}
		norm += math.Sqrt(n2) / 32
		found := false
		for _, w := range want {
			ok := true
			for j := range w {
				if math.Abs(float64(w[j])*st.Scale()-row[j]) > 1e-5 {
					ok = false
					break
				}
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("row %d is no activation of the first batches", i)
		}
	}
	if math.Abs(norm-math.Sqrt(float64(d)))/math.Sqrt(float64(d)) > 0.3 {
		t.Errorf("mean norm %.3f after normalisation, want about sqrt(%d) = %.3f", norm, d, math.Sqrt(float64(d)))
	}
	// Serving past half the buffer refills it.
	for i := 0; i < 200; i++ {
		if err := st.Next(ctx, row); err != nil {
			t.Fatal(err)
		}
	}
	if st.Tokens() <= 64 {
		t.Errorf("buffer never refilled: %d tokens read", st.Tokens())
	}
	if _, err := sae.NewStore(ctx, m, source(t, 1), bos, sae.StoreConfig{Hook: "blocks.3.mlp.hook_post"}); err == nil {
		t.Error("unknown hook: no error")
	}
}

// identity is an SAE of exactly x_hat = x: features relu(x_j) and
// relu(-x_j), decoded with +e_j and -e_j.
func identity(d int) *sae.SAE {
	s := &sae.SAE{Architecture: sae.ReLU, D: d, F: 2 * d, Be: make([]float64, 2*d), Bd: make([]float64, d)}
	for k := 0; k < 2*d; k++ {
		v := make([]float64, d)
		v[k%d] = 1
		if k >= d {
			v[k%d] = -1
		}
		s.We = append(s.We, v)
		s.Wd = append(s.Wd, append([]float64(nil), v...))
	}
	return s
}

func zeroSAE(d int, bd []float64) *sae.SAE {
	s := &sae.SAE{Architecture: sae.ReLU, D: d, F: 1, We: [][]float64{make([]float64, d)}, Wd: [][]float64{make([]float64, d)},
		Be: []float64{0}, Bd: bd}
	return s
}

// TestEvaluateAnchors checks the metrics' fixed points: an SAE that
// reproduces its input scores CE loss score 1, explained variance 1 and
// KL 0; one that outputs zeros scores CE loss score 0; one that outputs
// the mean of the activations scores explained variance 0.
func TestEvaluateAnchors(t *testing.T) {
	m := mlpModel(t)
	ctx := context.Background()
	cfg := sae.EvalConfig{Hook: hook, Batches: 2, Batch: 4, Context: 16, BOS: -1}
	d := m.Config.DMLP

	id, err := sae.Evaluate(ctx, m, identity(d), source(t, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(id.CELossScore)-1) > 1e-4 || math.Abs(id.ExplainedVariance-1) > 1e-5 || id.KL > 1e-6 || id.MSE > 1e-10 {
		t.Errorf("identity: %+v", id)
	}
	if id.Tokens != 2*4*16 {
		t.Errorf("identity: %d tokens", id.Tokens)
	}
	z, err := sae.Evaluate(ctx, m, zeroSAE(d, make([]float64, d)), source(t, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(z.CELossScore)) > 1e-6 || z.Dead != 1 {
		t.Errorf("zeros: CE loss score %v, dead %d", z.CELossScore, z.Dead)
	}
	// The mean of the evaluated activations, from the same batches.
	src := source(t, 2)
	mean := make([]float64, d)
	b := data.NewBatch(4, 16)
	var n float64
	for range 2 {
		if err := src.Next(b); err != nil {
			t.Fatal(err)
		}
		if _, err := sae.Activations(m, b.Inputs(), 4, 16, hook, func(_ int, a []float32) {
			for j, v := range a {
				mean[j] += float64(v)
			}
			n++
		}); err != nil {
			t.Fatal(err)
		}
	}
	for j := range mean {
		mean[j] /= n
	}
	mu, err := sae.Evaluate(ctx, m, zeroSAE(d, mean), source(t, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(mu.ExplainedVariance) > 1e-5 {
		t.Errorf("mean predictor: explained variance %v, want 0", mu.ExplainedVariance)
	}
	if _, err := sae.Evaluate(ctx, m, identity(5), source(t, 2), cfg); err == nil {
		t.Error("width mismatch: no error")
	}
}

// TestSAELensGolden loads SAEs saved in SAELens's layout by
// testdata/sae_lens/gen.py and checks that they encode and reconstruct as
// PyTorch computed.
func TestSAELensGolden(t *testing.T) {
	for _, arch := range []string{"standard", "topk", "jumprelu"} {
		dir := filepath.Join("..", "testdata", "sae_lens", arch)
		s, cfg, err := sae.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HookName != hook {
			t.Errorf("%s: hook %q", arch, cfg.HookName)
		}
		exp, _, err := safetensors.Read(filepath.Join(dir, "expected.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		x, f, xh := exp["x"], exp["f"], exp["x_hat"]
		n := x.Shape[0]
		for i := 0; i < n; i++ {
			row := make([]float64, s.D)
			for j := range row {
				row[j] = float64(x.Data[i*s.D+j])
			}
			gf := s.Encode(row)
			for k, v := range gf {
				if math.Abs(v-float64(f.Data[i*s.F+k])) > 1e-5 {
					t.Fatalf("%s row %d feature %d: %v, PyTorch %v", arch, i, k, v, f.Data[i*s.F+k])
				}
			}
			for j, v := range s.Decode(gf) {
				if math.Abs(v-float64(xh.Data[i*s.D+j])) > 1e-5 {
					t.Fatalf("%s row %d x_hat[%d]: %v, PyTorch %v", arch, i, j, v, xh.Data[i*s.D+j])
				}
			}
		}
		// Saved again, it loads the same.
		out := t.TempDir()
		if err := s.Save(out, cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		s2, cfg2, err := sae.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if s2.K != s.K || s2.Architecture != s.Architecture || cfg2.HookName != cfg.HookName || s2.We[3][5] != s.We[3][5] || s2.Wd[7][2] != s.Wd[7][2] || len(s2.Threshold) != len(s.Threshold) {
			t.Errorf("%s: round trip changed the SAE", arch)
		}
	}
	if _, _, err := sae.Load(t.TempDir()); err == nil {
		t.Error("empty directory: no error")
	}
}

// TestTrainStore trains a TopK SAE from the store briefly and checks the
// folded model reconstructs the raw activations as well as it was
// measured to.
func TestTrainStore(t *testing.T) {
	m := mlpModel(t)
	ctx := context.Background()
	st, err := sae.NewStore(ctx, m, source(t, 4), 0, sae.StoreConfig{Hook: hook, Batch: 4, Buffer: 256, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sae.TrainStore(ctx, st, sae.Config{Architecture: sae.TopK, K: 8, DictSize: 64, Steps: 300, Batch: 32, EvalRows: 256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.L0 > 8 {
		t.Errorf("L0 %v above k", res.L0)
	}
	ev, err := sae.Evaluate(ctx, m, res.Model, source(t, 5), sae.EvalConfig{Hook: hook, Batches: 2, Batch: 4, BOS: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train FVE %.3f; eval EV %.3f, CE loss score %.3f, L0 %.2f", res.FVE, ev.ExplainedVariance, ev.CELossScore, ev.L0)
	if ev.ExplainedVariance < 0.5 || math.Abs(ev.ExplainedVariance-res.FVE) > 0.15 {
		t.Errorf("explained variance %v on raw activations, %v measured in training", ev.ExplainedVariance, res.FVE)
	}
}
