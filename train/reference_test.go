package train

import (
	"math"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// TestReferenceRecipeGolden trains two steps of docs/induction-heads.md's
// reference recipe from the PyTorch model's own initial weights and batch
// (testdata/induction_reference/golden.safetensors, written by
// scripts/induction_reference.py --golden) and compares the loss, every
// gradient and every weight after each AdamW step (betas 0.9/0.999, eps
// 1e-8, weight decay 0.01 on every parameter) with PyTorch's. A difference
// in the loss positions, the masking, LayerNorm, the unembedding bias or
// which parameters decay shows up here, not only thousands of steps later.
func TestReferenceRecipeGolden(t *testing.T) {
	g, _, err := safetensors.Read("../testdata/induction_reference/golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.Config{NLayers: 2, NHeads: 4, DModel: 64, DHead: 16, NCtx: 64, DVocab: 128,
		AttnOnly: true, Untied: true, Init: models.InitPyTorch}
	m, err := models.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	load := func(prefix string) {
		for _, p := range m.Params.List() {
			src, ok := g[prefix+p.Name]
			if !ok {
				t.Fatalf("golden file has no %s%s", prefix, p.Name)
			}
			copy(m.Params.Get(p.Name).Data, src.Data)
		}
	}
	HD := cfg.NHeads * cfg.DHead
	// compareGrads: the largest difference relative to the tensor's largest
	// gradient.
	compareGrads := func(what, prefix string, got *models.Params) {
		t.Helper()
		worst, where := 0.0, ""
		for _, p := range got.List() {
			want := g[prefix+p.Name].Data
			scale := 0.0
			for _, w := range want {
				scale = max(scale, math.Abs(float64(w)))
			}
			for i, v := range got.Get(p.Name).Data {
				if d := math.Abs(float64(v)-float64(want[i])) / max(scale, 1e-6); d > worst {
					worst, where = d, p.Name
				}
			}
		}
		if worst > 1e-4 {
			t.Errorf("%s: largest difference %.2g (relative to the tensor's largest gradient) in %s", what, worst, where)
		}
	}
	// compareSteps: per tensor, |Δ_go − Δ_torch| / |Δ_torch| for the update
	// Δ of the step. Elements whose gradient is near 0 take steps that
	// rounding decides (Adam divides g by √v + ε), so single elements may
	// differ; the update as a whole must not.
	compareSteps := func(what, before, after string, got *models.Params) {
		t.Helper()
		for _, p := range got.List() {
			b, a := g[before+p.Name].Data, g[after+p.Name].Data
			var diff, norm float64
			for i, v := range got.Get(p.Name).Data {
				if strings.HasSuffix(p.Name, "c_attn.bias") && i >= HD && i < 2*HD {
					// The key bias adds the same score to every key of a
					// query: softmax makes its gradient 0 up to rounding
					// (1e-11 here), so its Adam step is rounding noise.
					continue
				}
				dt, dg := float64(a[i])-float64(b[i]), float64(v)-float64(b[i])
				diff += (dg - dt) * (dg - dt)
				norm += dt * dt
			}
			if r := math.Sqrt(diff / max(norm, 1e-30)); r > 1e-3 {
				t.Errorf("%s: %s's update differs from PyTorch's by %.2g of its norm", what, p.Name, r)
			}
		}
	}
	load("init.")

	tok := g["tokens"]
	B, L := tok.Shape[0], tok.Shape[1]
	T := L - 1
	inputs, targets := make([]int, B*T), make([]int, B*T)
	for b := range B {
		for p := range T {
			inputs[b*T+p] = int(tok.Data[b*L+p])
			targets[b*T+p] = int(tok.Data[b*L+p+1])
		}
	}
	tc := DefaultConfig()
	tc.Beta2, tc.WeightDecay, tc.Decay, tc.GradClip = 0.999, 0.01, DecayAll, 0
	opt := NewAdamW(m.Params, tc)
	grads := m.Params.ZerosLike()
	for _, step := range []string{"1", "2"} {
		pass, err := m.Forward(inputs, B, T, targets, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(g["loss"+step].Data[0]); math.Abs(float64(pass.Loss)-want) > 1e-5 {
			t.Errorf("step %s: loss %.7f, PyTorch %.7f", step, pass.Loss, want)
		}
		clear(grads.Data)
		if err := m.Backward(pass, grads, nil); err != nil {
			t.Fatal(err)
		}
		pass.Release()
		compareGrads("step "+step+" gradients", "grad"+step+".", grads)
		if err := opt.Step(m.Params.Data, grads.Data, 3e-3); err != nil {
			t.Fatal(err)
		}
		before := "init."
		if step == "2" {
			before = "step1."
		}
		compareSteps("step "+step, before, "step"+step+".", m.Params)
		// The next step starts from PyTorch's weights, so that the
		// noise of near-zero gradients does not carry over.
		load("step" + step + ".")
	}
}

// TestAdamWDecayAll checks which parameters decay under each Decay setting.
func TestAdamWDecayAll(t *testing.T) {
	m, err := models.New(models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 4, DVocab: 5, AttnOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		decay string
		bias  bool // does ln_f.bias decay
	}{{"", false}, {DecayMatrices, false}, {DecayAll, true}} {
		cfg := DefaultConfig()
		cfg.Decay = tc.decay
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		// ln_f.weight is 1-D: it decays only with "all".
		o := NewAdamW(m.Params, cfg)
		params := append([]float32(nil), m.Params.Data...)
		grads := make([]float32, len(params))
		if err := o.Step(params, grads, 1); err != nil {
			t.Fatal(err)
		}
		off := m.Params.List()
		var lnf models.Param
		for _, q := range off {
			if q.Name == "ln_f.weight" {
				lnf = q
			}
		}
		decayed := params[lnf.Offset] != m.Params.Data[lnf.Offset]
		if decayed != tc.bias {
			t.Errorf("decay %q: ln_f.weight decayed %v, want %v", tc.decay, decayed, tc.bias)
		}
	}
	bad := DefaultConfig()
	bad.Decay = "biases"
	if bad.Validate() == nil {
		t.Error(`decay "biases" was accepted`)
	}
}
