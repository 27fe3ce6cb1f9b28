package run

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// TestReferenceRecipeFile loads docs/recipes/induction-reference.yaml and
// checks that it says what docs/induction-heads.md's reference recipe says,
// then trains it for two steps (the full run is a documented command).
func TestReferenceRecipeFile(t *testing.T) {
	c, err := LoadConfig("../docs/recipes/induction-reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, d, tr := c.Model, c.Data, c.Train
	for _, chk := range []struct {
		what string
		ok   bool
	}{
		{"2 layers, 4 heads, d_model 64, d_head 16, context 64, vocab 128",
			m.NLayers == 2 && m.NHeads == 4 && m.DModel == 64 && m.DHead == 16 && m.NCtx == 64 && m.DVocab == 128},
		{"attention-only, pre-LayerNorm, learned positions, untied", m.AttnOnly && m.Normalization == models.NormLN && m.Positional == models.PosStandard && m.Untied},
		{"PyTorch's default init", m.Init == models.InitPyTorch},
		{"data kind reference, spans 10-29", d.Kind == data.KindReference && d.Reference.MinSpan == 10 && d.Reference.MaxSpan == 29},
		{"batches of 32 sequences of 64 tokens (63 predictions)", tr.BatchSize == 32 && tr.SeqLen == 63},
		{"AdamW lr 3e-3 constant, no warmup", tr.LR == 3e-3 && tr.MinLR == 3e-3 && tr.Warmup == 0},
		{"betas (0.9, 0.999), eps 1e-8", tr.Beta1 == 0.9 && tr.Beta2 == 0.999 && tr.Eps == 1e-8},
		{"weight decay 0.01 on every parameter, no clipping", tr.WeightDecay == 0.01 && tr.Decay == train.DecayAll && tr.GradClip == 0},
		{"3000 steps", tr.Steps == 3000},
	} {
		if !chk.ok {
			t.Errorf("recipe: not %s", chk.what)
		}
	}
	c.Train.Steps, c.Train.EvalEvery = 2, 0
	c.Train.Checkpoints = train.CheckpointSchedule{Steps: []int{2}}
	dir := filepath.Join(t.TempDir(), "run")
	res, err := Start(context.Background(), dir, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 2 || res.Tokens != 2*32*63 {
		t.Errorf("trained %d steps on %d tokens, want 2 on %d", res.Step, res.Tokens, 2*32*63)
	}
}
