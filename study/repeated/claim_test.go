package repeated

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// TestRepeatedDataDamagesInduction reproduces the paper's mechanism at the
// smallest scale that shows it (Hernandez et al. 2022, section 5): the
// demo's recipe (a 2-layer attention-only model on random tokens with one
// repeated span per sequence) forms induction heads within 1100 steps; so
// does a run whose budget repeats half its sequences 4 times, but repeating
// them 64 times (a subset of 275 sequences) prevents them, and copying and
// prefix matching lose most of what the baseline learned.
func TestRepeatedDataDamagesInduction(t *testing.T) {
	if os.Getenv("MECHINTERP_LONG_TESTS") == "" {
		t.Skip("trains three models (about 40 s on 2 cores): set MECHINTERP_LONG_TESTS=1")
	}
	tc := train.DefaultConfig()
	tc.Steps, tc.BatchSize, tc.Warmup = 1100, 32, 100
	tc.LR, tc.MinLR = 3e-3, 3e-3
	tc.EvalEvery = 0
	tc.Checkpoints = train.CheckpointSchedule{} // the last step only
	s := Study{
		Name: "claim",
		Model: models.Config{NHeads: 4, NCtx: 64, AttnOnly: true, Normalization: models.NormLN,
			Positional: models.PosStandard, InitializerRange: 0.1},
		Data:  data.Config{Kind: data.KindSynthetic, Synthetic: data.SyntheticConfig{Vocab: 128, RandomFraction: data.Float(1)}},
		Train: tc,
		Eval:  Eval{HeldOut: 64, SubsetSample: 64, Passages: 32, Prompts: 32},
		Sizes: []Size{{Name: "l", DModel: 64}},
		Archs: []Arch{{Name: "attn2", NLayers: 2, AttnOnly: true}},
		Grids: []Grid{{Fractions: []float64{0.5}, Epochs: []int{4, 64}, Sizes: []string{"l"}, Archs: []string{"attn2"}, Seeds: []uint64{1}}},
	}
	dir := t.TempDir()
	if err := Execute(context.Background(), s, s.Runs(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	rows, err := Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(s, rows)
	got := map[string]Summary{}
	for _, sm := range a.Runs {
		got[sm.Run] = sm
		t.Logf("%s: test %.3f copy %.3f prefix %.2f; damage test %s copy %s prefix %s", sm.Run, sm.Final.TestLoss,
			sm.Final.CopyLoss, sm.Final.PrefixMax, fmtDamage(sm.TestDamageRel), fmtDamage(sm.CopyDamageRel), fmtDamage(sm.PrefixDamageRel))
	}
	base, few, many := got["f0-l-attn2-s1"], got["f0.5-E4-l-attn2-s1"], got["f0.5-E64-l-attn2-s1"]
	if base.Final.PrefixMax < 0.4 || few.Final.PrefixMax < 0.4 {
		t.Errorf("prefix matching %.2f (f = 0) and %.2f (E = 4): want induction heads (>= 0.4) in both", base.Final.PrefixMax, few.Final.PrefixMax)
	}
	if few.CopyDamageRel == nil || *few.CopyDamageRel > 0.2 {
		t.Errorf("E = 4: copy damage %s, want below 20%%", fmtDamage(few.CopyDamageRel))
	}
	if many.Final.PrefixMax > 0.2 || many.CopyDamageRel == nil || *many.CopyDamageRel < 0.5 ||
		many.PrefixDamageRel == nil || *many.PrefixDamageRel < 0.5 {
		t.Errorf("E = 64: prefix matching %.2f, copy damage %s, prefix damage %s; want no induction head and over half of both lost",
			many.Final.PrefixMax, fmtDamage(many.CopyDamageRel), fmtDamage(many.PrefixDamageRel))
	}
}

func fmtDamage(x *float64) string {
	if x == nil {
		return "none"
	}
	return strconv.FormatFloat(*x*100, 'f', 1, 64) + "%"
}
