package hooks

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

var configs = []models.Config{
	{NLayers: 2, NHeads: 3, DModel: 12, NCtx: 8, DVocab: 17, Seed: 1},
	{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 13, AttnOnly: true, Positional: models.PosShortformer, Seed: 2},
	{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 13, Normalization: models.NormNone, Untied: true, Seed: 3},
	// GPT-NeoX and Llama shapes (rotary, parallel; RMSNorm, SwiGLU, GQA).
	{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 13, Positional: models.PosRotary, RotaryDim: 2,
		ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true, Seed: 4},
	{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 8, NCtx: 8, DVocab: 13, Normalization: models.NormRMS,
		Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true,
		NoMLPBias: true, NoUnembedBias: true, Seed: 5},
}

func tokens(seed uint64, n, vocab int) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := make([]int, n)
	for i := range s {
		s[i] = rng.IntN(vocab)
	}
	return s
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		if a[i] != b[i] { // equal infinities (masked scores) differ by nothing
			d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		}
	}
	return d
}

func TestEveryHookFiresOnceWithItsShape(t *testing.T) {
	for _, c := range configs {
		m := testmodel.Random(t, c, 0.3)
		B, T := 2, 5
		seen := map[string]int{}
		var order []string
		_, err := RunWithHooks(m, tokens(1, B*T, c.DVocab), B, T, nil, At("*", func(name string, a *tensor.Tensor) (*tensor.Tensor, error) {
			seen[name]++
			order = append(order, name)
			want, err := models.HookShape(m.Config, name, B, T)
			if err != nil {
				return nil, err
			}
			if !a.SameShape(want) {
				t.Errorf("%s: shape %v, want %v", name, a.Shape, want)
			}
			return nil, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := models.HookNames(m.Config, false)
		if !slices.Equal(order, want) {
			t.Errorf("fired %v\nwant %v", order, want)
		}
		for n, k := range seen {
			if k != 1 {
				t.Errorf("%s fired %d times", n, k)
			}
		}
	}
}

// Zeroing a head's whole attention pattern zeroes its z, so it must equal
// ablating the head at hook_z.
func TestPatternZeroingEqualsZAblation(t *testing.T) {
	for _, c := range configs {
		m := testmodel.Random(t, c, 0.3)
		B, T := 2, 6
		toks := tokens(2, B*T, c.DVocab)
		l, h := c.NLayers-1, 1
		a, err := RunWithHooks(m, toks, B, T, nil, ZeroAblateHead(l, h))
		if err != nil {
			t.Fatal(err)
		}
		b, err := RunWithHooks(m, toks, B, T, nil, At("blocks.*.attn.hook_pattern", func(name string, p *tensor.Tensor) (*tensor.Tensor, error) {
			if name != "blocks."+itoa(l)+".attn.hook_pattern" {
				return nil, nil
			}
			for bi := 0; bi < B; bi++ {
				clear(p.Data[(bi*c.NHeads+h)*T*T : (bi*c.NHeads+h+1)*T*T])
			}
			return nil, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := RunWithHooks(m, toks, B, T, nil)
		if d := maxDiff(a.Logits.Data, b.Logits.Data); d > 1e-5 {
			t.Errorf("pattern zeroing and z ablation differ by %g", d)
		}
		if d := maxDiff(a.Logits.Data, plain.Logits.Data); d < 1e-4 {
			t.Errorf("ablation changed nothing (%g)", d)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestReplacementChangesLoss(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	B, T := 1, 6
	toks, tgts := tokens(3, B*T, 17), tokens(4, B*T, 17)
	plain, _ := RunWithHooks(m, toks, B, T, tgts)
	doubled, err := RunWithHooks(m, toks, B, T, tgts, At("blocks.1.hook_resid_post", func(_ string, a *tensor.Tensor) (*tensor.Tensor, error) {
		r := a.Clone()
		for i := range r.Data {
			r.Data[i] *= -3
		}
		return r, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Loss == doubled.Loss {
		t.Fatal("replacing resid_post did not change the loss")
	}
}

func TestFilteredCacheKeepsOnlyWhatWasAsked(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	B, T := 2, 4
	_, cache, err := RunWithCache(m, tokens(5, B*T, 17), B, T, MustFilter("blocks.*.attn.hook_pattern", "hook_embed"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern", "hook_embed"}
	if !slices.Equal(cache.Names(), want) {
		t.Fatalf("cache holds %v, want %v", cache.Names(), want)
	}
	p := cache.Get("blocks.1.attn.hook_pattern")
	if !p.SameShape([]int{B, 3, T, T}) {
		t.Fatalf("pattern shape %v", p.Shape)
	}
	// Rows of a pattern sum to one over the causal half.
	for row := 0; row < B*3*T; row++ {
		var s float32
		for _, v := range p.Data[row*T : (row+1)*T] {
			s += v
		}
		if math.Abs(float64(s-1)) > 1e-5 {
			t.Fatalf("pattern row %d sums to %g", row, s)
		}
	}
	if err := MustFilter("blocks.7.attn.hook_q").Check(m.Config); err == nil {
		t.Error("a filter naming a missing layer passed Check")
	}
}

func TestHookErrorLeavesNothingAttached(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	toks := tokens(6, 4, 17)
	before, _ := RunWithHooks(m, toks, 1, 4, nil)
	boom := errors.New("boom")
	_, err := RunWithHooks(m, toks, 1, 4, nil, At("blocks.0.hook_resid_mid", func(string, *tensor.Tensor) (*tensor.Tensor, error) {
		return nil, boom
	}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	after, _ := RunWithHooks(m, toks, 1, 4, nil)
	if maxDiff(before.Logits.Data, after.Logits.Data) != 0 {
		t.Fatal("a failed hook changed later runs")
	}
}

func TestPatchingFromCleanRun(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	B, T := 1, 6
	clean, corrupt := tokens(7, B*T, 17), tokens(8, B*T, 17)
	corrupt[0] = clean[0]
	cleanPass, cache, err := RunWithCache(m, clean, B, T, MustFilter("*"))
	if err != nil {
		t.Fatal(err)
	}
	// Patching the whole residual stream before layer 0 restores the clean run.
	p, err := RunWithHooks(m, corrupt, B, T, nil, Patch("blocks.0.hook_resid_pre", cache))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(p.Logits.Data, cleanPass.Logits.Data); d > 1e-5 {
		t.Errorf("full resid_pre patch differs from clean by %g", d)
	}
	// Patching the last position of the final residual stream restores the
	// clean logits there only.
	p, err = RunWithHooks(m, corrupt, B, T, nil, PatchPosition("blocks.1.hook_resid_post", T-1, cache))
	if err != nil {
		t.Fatal(err)
	}
	V := 17
	if d := maxDiff(p.Logits.Data[(T-1)*V:], cleanPass.Logits.Data[(T-1)*V:]); d > 1e-5 {
		t.Errorf("last-position patch differs from clean by %g", d)
	}
	// Patching every head of every layer at z restores the clean run.
	var hs []Hook
	for l := 0; l < 2; l++ {
		for h := 0; h < 3; h++ {
			hs = append(hs, PatchHead(l, h, -1, cache))
		}
	}
	// Attention depends on the residual stream; patch the embeddings too.
	hs = append(hs, Patch("hook_embed", cache))
	p, err = RunWithHooks(m, corrupt, B, T, nil, hs...)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(p.Logits.Data, cleanPass.Logits.Data); d > 1e-5 {
		t.Errorf("patching all heads and embeddings differs from clean by %g", d)
	}
}

func TestMeanAblationOfABatchOfOneIsIdentity(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	toks := tokens(9, 5, 17)
	plain, cache, err := RunWithCache(m, toks, 1, 5, MustFilter("blocks.1.attn.hook_z"))
	if err != nil {
		t.Fatal(err)
	}
	hk, err := MeanAblateHead(1, 2, cache.Get("blocks.1.attn.hook_z"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := RunWithHooks(m, toks, 1, 5, nil, hk)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(p.Logits.Data, plain.Logits.Data); d > 1e-6 {
		t.Errorf("mean over one sequence changed the logits by %g", d)
	}
}

func TestResultSumsToAttnOut(t *testing.T) {
	c := configs[0]
	m := testmodel.Random(t, c, 0.3)
	B, T := 2, 5
	_, cache, err := RunWithCache(m, tokens(10, B*T, 17), B, T, MustFilter("blocks.0.attn.hook_result", "blocks.0.hook_attn_out"))
	if err != nil {
		t.Fatal(err)
	}
	res, out := cache.Get("blocks.0.attn.hook_result"), cache.Get("blocks.0.hook_attn_out")
	bO := m.Params.Get("h.0.attn.c_proj.bias").Data
	C, H := c.DModel, c.NHeads
	for i := 0; i < B*T; i++ {
		for j := 0; j < C; j++ {
			s := bO[j]
			for h := 0; h < H; h++ {
				s += res.Data[(i*H+h)*C+j]
			}
			if math.Abs(float64(s-out.Data[i*C+j])) > 1e-5 {
				t.Fatalf("sum of head results %g != attn_out %g", s, out.Data[i*C+j])
			}
		}
	}
}

// The gradient at the residual stream predicts the loss change of a small
// perturbation there (the premise of attribution patching).
func TestGradientsAtHookPoints(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	B, T := 1, 6
	toks, tgts := tokens(11, B*T, 17), tokens(12, B*T, 17)
	base, cache, err := Run(m, toks, B, T, Spec{Targets: tgts, Grads: MustFilter("blocks.1.hook_resid_mid")})
	if err != nil {
		t.Fatal(err)
	}
	g := cache.Get("blocks.1.hook_resid_mid_grad")
	if g == nil || !g.SameShape([]int{B, T, 12}) || cache.Len() != 1 {
		t.Fatalf("cache %v", cache.Names())
	}
	const eps = 1e-2
	dir := tokens(13, g.Len(), 3)
	var predicted float64
	for i, d := range dir {
		predicted += eps * float64(d-1) * float64(g.Data[i])
	}
	p, err := RunWithHooks(m, toks, B, T, tgts, At("blocks.1.hook_resid_mid", func(_ string, a *tensor.Tensor) (*tensor.Tensor, error) {
		for i, d := range dir {
			a.Data[i] += eps * float32(d-1)
		}
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	actual := float64(p.Loss - base.Loss)
	if math.Abs(actual-predicted) > 0.1*math.Abs(predicted)+1e-4 {
		t.Fatalf("loss change %g, gradient predicts %g", actual, predicted)
	}
}

// Releasing a pass must not recycle buffers under the cache.
// Both kinds of cache are checked: one of every activation (views of the
// retained pass) and a selective one (copies; the pass recycles its blocks).
func TestCacheSurvivesRelease(t *testing.T) {
	for _, f := range []Filter{MustFilter("*"), MustFilter("blocks.1.attn.hook_pattern", "blocks.0.hook_resid_post")} {
		cacheSurvivesRelease(t, f)
	}
}

func cacheSurvivesRelease(t *testing.T, f Filter) {
	m := testmodel.Random(t, configs[0], 0.3)
	pass, cache, err := RunWithCache(m, tokens(20, 6, 17), 1, 6, f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{}
	for _, n := range cache.Names() {
		want[n] = append([]float32(nil), cache.Get(n).Data...)
	}
	pass.Release()
	for i := 0; i < 3; i++ {
		p, err := m.Forward(tokens(21+uint64(i), 6, 17), 1, 6, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
	}
	for n, w := range want {
		if d := maxDiff(cache.Get(n).Data, w); d != 0 {
			t.Errorf("%s changed by %g after the pass was released", n, d)
		}
	}
}

// Cache.Release hands a views cache's buffers back: the next pass of the same
// shape reuses them (its activations land in the released memory), and the
// released cache reads as empty rather than as another pass's numbers.
func TestCacheReleaseRecyclesBuffers(t *testing.T) {
	m := testmodel.Random(t, configs[0], 0.3)
	_, cache, err := RunWithCache(m, tokens(20, 6, 17), 1, 6, MustFilter("*"))
	if err != nil {
		t.Fatal(err)
	}
	old := map[*float32]bool{}
	for _, n := range cache.Names() {
		old[&cache.Get(n).Data[0]] = true
	}
	cache.Release()
	if cache.Get("blocks.0.hook_resid_pre") != nil || cache.Len() != 0 {
		t.Fatal("a released cache still returns activations")
	}
	cache.Release() // twice is harmless
	_, c2, err := RunWithCache(m, tokens(30, 6, 17), 1, 6, MustFilter("*"))
	if err != nil {
		t.Fatal(err)
	}
	reused := 0
	for _, n := range c2.Names() {
		if old[&c2.Get(n).Data[0]] {
			reused++
		}
	}
	// Some buffers come back as scratch space the hooks do not see.
	if 2*reused < len(old) {
		t.Errorf("the next pass reused %d of the %d released buffers", reused, len(old))
	}
}
