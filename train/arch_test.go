package train_test

import (
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// TestTrainNewArchitectures trains GPT-NeoX- and Llama-shaped models (and
// GPT-2 beside them) 150 steps: the loss falls alike, and the checkpoints, written in Hugging
// Face's GPT-NeoX and Llama layouts, load back as those classes.
func TestTrainNewArchitectures(t *testing.T) {
	for name, cfg := range map[string]models.Config{
		"gpt2": {NLayers: 2, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 12},
		"neox": {NLayers: 2, NHeads: 2, DModel: 16, NCtx: 16, DVocab: 12, Positional: models.PosRotary, RotaryDim: 4,
			ParallelAttnMLP: true, ActFn: models.ActGelu, Untied: true, NoUnembedBias: true},
		"llama": {NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 16, NCtx: 16, DVocab: 12, Normalization: models.NormRMS,
			Positional: models.PosRotary, ActFn: models.ActSilu, GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true,
			NoMLPBias: true, NoUnembedBias: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			testmodel.Trained(t, dir, cfg, 150)
			ms, err := train.ReadMetrics(filepath.Join(dir, train.MetricsFile))
			if err != nil || len(ms) < 150 {
				t.Fatalf("%d metrics lines: %v", len(ms), err)
			}
			first, last := *ms[0].Loss, *ms[len(ms)-1].Loss
			if !(last < first-0.1) { // GPT-2 of this size falls by 0.18 here
				t.Errorf("loss %.3f -> %.3f: did not fall", first, last)
			}
			cp, ok, err := train.Latest(dir)
			if err != nil || !ok {
				t.Fatalf("no checkpoint: %v", err)
			}
			m, err := models.Load(cp.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"neox": models.ArchGPTNeoX, "llama": models.ArchLlama}[name]; m.Config.HFArchitecture != want {
				t.Errorf("checkpoint written as %q, want %q", m.Config.HFArchitecture, want)
			}
		})
	}
}
