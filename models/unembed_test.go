package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestUnembedDirectRows: a pass of unembedDirectRows rows or more takes the
// unembedding as one product, fewer rows the transposed blocks; both give
// the same logits to rounding, and the direct product writes every logit
// (poisoned buffers change no bit).
func TestUnembedDirectRows(t *testing.T) {
	cfg := Config{NLayers: 1, NHeads: 2, DModel: 8, NCtx: 16, DVocab: 37, Untied: true, Seed: 1}
	m := randomModel(t, cfg)
	const T = 16
	bigB := unembedDirectRows / T
	rng := rand.New(rand.NewPCG(3, 3))
	tokens := randomTokens(rng, bigB*T, cfg.DVocab)
	run := func(B int, poison bool) []float32 {
		poisonDirty = poison
		defer func() { poisonDirty = false }()
		p, err := m.Forward(tokens[:B*T], B, T, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Release()
		return append([]float32(nil), p.Logits.Data...)
	}
	direct, blocked := run(bigB, false), run(bigB/4, false)
	for i, want := range blocked {
		if got := direct[i]; math.Abs(float64(got-want)) > 1e-5*(1+math.Abs(float64(want))) {
			t.Fatalf("logit %d: %g in a pass of %d rows, %g in one of %d", i, got, bigB*T, want, bigB/4*T)
		}
	}
	for i, v := range run(bigB, true) {
		if math.Float32bits(v) != math.Float32bits(direct[i]) {
			t.Fatalf("logit %d: %g, with poisoned buffers %g", i, direct[i], v)
		}
	}
}
