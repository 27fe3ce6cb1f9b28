package testmodel

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

func TestModels(t *testing.T) {
	cfg := models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 11, Seed: 3}
	tests := []struct {
		name  string
		build func() *models.Model
		check func(*models.Model) bool
	}{
		{"random is seeded", func() *models.Model { return Random(t, cfg, 0.3) }, func(m *models.Model) bool {
			return slices.Equal(m.Params.Data, Random(t, cfg, 0.3).Params.Data)
		}},
		{"zero has unit LayerNorm gains", func() *models.Model { return Zero(t, cfg) }, func(m *models.Model) bool {
			g, b := Weight(t, m, "ln2.w", 1), Weight(t, m, "W_Q", 0)
			return g.Data[0] == 1 && !slices.ContainsFunc(b.Data, func(x float32) bool { return x != 0 })
		}},
		{"hand-set embeds one-hot", func() *models.Model {
			return HandSet(t, []int{1}, []func(int) []float32{func(int) []float32 { return make([]float32, HandVocab) }})
		}, func(m *models.Model) bool {
			e := Weight(t, m, "W_E", 0)
			return e.At(3, HandCtx+3) == 1 && e.At(3, HandCtx+4) == 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.check(tc.build()) {
				t.Error("check failed")
			}
		})
	}
}

func TestDirectories(t *testing.T) {
	dir := Checkpoint(t, Tiny)
	if _, err := os.Stat(filepath.Join(dir, models.WeightsFile)); err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	Run(t, run, Tiny, 0, 10)
	cps, err := train.Checkpoints(run)
	if err != nil || len(cps) != 2 {
		t.Fatalf("checkpoints %v, %v", cps, err)
	}
}
