package probes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// TestICLScoreInParts: prompts run a few at a time give the score of one
// pass over all of them; at Pythia's shape a pass takes one prompt.
func TestICLScoreInParts(t *testing.T) {
	if got := iclBatch(models.Config{NLayers: 12, NHeads: 12, DModel: 768, NCtx: 2048, DVocab: 50304}, 2048); got != 1 {
		t.Errorf("Pythia-160M at 2048 tokens: %d prompts per pass, want 1", got)
	}
	// A vocabulary this large makes a pass take two of the five prompts.
	cfg := models.Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 64, DVocab: 400000, AttnOnly: true, Seed: 1}
	m := testmodel.Random(t, cfg, 0.3)
	B, T := 5, 64
	if per := iclBatch(cfg, T); per != 2 {
		t.Fatalf("%d prompts per pass, want 2", per)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := make([]int, B*T)
	for i := range tokens {
		tokens[i] = rng.IntN(cfg.DVocab)
	}
	got, err := ICLScore(m, tokens, B, T)
	if err != nil {
		t.Fatal(err)
	}
	var early, late float64
	for b := range B {
		one, err := ICLScore(m, tokens[b*T:(b+1)*T], 1, T)
		if err != nil {
			t.Fatal(err)
		}
		early += one.LossEarly / float64(B)
		late += one.LossLate / float64(B)
	}
	if math.Abs(got.LossEarly-early) > 1e-5 || math.Abs(got.LossLate-late) > 1e-5 {
		t.Errorf("all at once %+v, one by one early %g late %g", got, early, late)
	}
}
