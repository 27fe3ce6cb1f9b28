package lab

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/models"
)

// TestAttributionSumsToReward: contributions plus the constant give each
// reward exactly, the constant is w·β + b under LayerNorm, and the gaps sum
// to the mean margin; for every normalization.
func TestAttributionSumsToReward(t *testing.T) {
	task := SyntheticConfig{Vocab: 9, Len: 6, Seed: 4}.WithDefaults()
	cs := task.Comparisons(SetEval, 5)
	for _, norm := range []string{models.NormLN, models.NormRMS, models.NormNone} {
		t.Run(norm, func(t *testing.T) {
			m, err := models.New(models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: task.SeqLen(), DVocab: task.Vocab,
				Seed: 3, InitializerRange: 0.5, Normalization: norm})
			if err != nil {
				t.Fatal(err)
			}
			pm := NewPrefModel(m, 2)
			pm.Head[8] = 0.7
			for i, c := range cs[:2] {
				r, parts, err := pm.decompose(c.Chosen)
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for _, p := range parts {
					s += p.value
				}
				want := float64(pm.Head[8])
				if norm == models.NormLN {
					beta := m.Params.Get("ln_f.bias").Data
					for j := 0; j < 8; j++ {
						want += float64(pm.Head[j] * beta[j])
					}
				}
				if norm != models.NormRMS || !m.Params.Has("ln_f.bias") {
					if math.Abs(r-s-want) > 1e-4 {
						t.Errorf("comparison %d: reward %.6f − contributions %.6f = %.6f, want the constant %.6f", i, r, s, r-s, want)
					}
				}
				if len(parts) != 1+1+2*(2+1+1) { // embed, pos, per layer 2 heads + bias + mlp
					t.Errorf("%d components", len(parts))
				}
			}
			a, err := Attribute(pm, cs)
			if err != nil {
				t.Fatal(err)
			}
			g := 0.0
			for _, v := range a.Gap {
				g += v
			}
			if math.Abs(g-a.Margin) > 1e-4 {
				t.Errorf("gaps sum to %.6f, margin %.6f", g, a.Margin)
			}
			if a.NPatched != 5 || len(a.Recovered) != 4 {
				t.Errorf("patched %d comparisons at %d points", a.NPatched, len(a.Recovered))
			}
			for k, v := range a.Recovered {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s recovered %v", a.Patched[k], v)
				}
			}
		})
	}
}
