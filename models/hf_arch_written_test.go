package models_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

var updateWritten = flag.Bool("update-written", false,
	"rewrite testdata/hf_arch/written_* with the checkpoint writer, then run testdata/hf_arch/gen.py --written")

// writtenCases are GPT-NeoX and Llama models made here (not loaded), whose
// checkpoints the writer (Model.Save) puts in testdata/hf_arch. gen.py
// --written reads those files as Hugging Face's classes do, by their tensor
// names and config keys with transformers' defaults for absent keys,
// refusing a missing or unexpected tensor (load_state_dict's strict mode),
// and writes its forward pass beside them. Hugging Face's transformers
// itself is not installable here (no PyPI), so this independent reader is
// how "checkpoints the tool writes load in Hugging Face's classes" is shown.
var writtenCases = []struct {
	dir, arch string
	cfg       models.Config
}{
	// Pythia's block: parallel residual, rotary on a quarter of each head,
	// exact GELU, untied, every NeoX bias.
	{"written_neox", models.ArchGPTNeoX, models.Config{NLayers: 2, NHeads: 4, DModel: 32, DMLP: 64, NCtx: 16, DVocab: 50,
		Positional: models.PosRotary, RotaryDim: 2, RotaryBase: 10000, ParallelAttnMLP: true, ActFn: models.ActGelu,
		Untied: true, NoUnembedBias: true}},
	// Llama with grouped-query attention and tied embeddings (no lm_head).
	{"written_llama", models.ArchLlama, models.Config{NLayers: 2, NHeads: 4, NKVHeads: 2, DModel: 32, DMLP: 48, NCtx: 16,
		DVocab: 40, Normalization: models.NormRMS, Positional: models.PosRotary, RotaryBase: 500, ActFn: models.ActSilu,
		GatedMLP: true, NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true}},
}

// writtenModel is the case's model with every parameter drawn N(0, 0.3²)
// (LayerNorm gains around 1), so that a swapped or transposed tensor shows
// in the logits, which an initialisation's unit gains and zero biases hide.
func writtenModel(t *testing.T, i int) *models.Model {
	t.Helper()
	m, err := models.New(writtenCases[i].cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := seed.New(seed.Derive(7, uint64(i), "models/hf_arch_written_test"))
	for j := range m.Params.Data {
		m.Params.Data[j] = float32(0.3 * r.NormFloat64())
	}
	return m
}

// TestHFArchWritten checks that the committed written_* checkpoints are
// what the writer produces today (same tensors, same config.json), and
// that loading them gives the logits and every hook point of gen.py's
// reference, which read them by Hugging Face's names.
func TestHFArchWritten(t *testing.T) {
	if *updateWritten {
		for i, tc := range writtenCases {
			if err := writtenModel(t, i).Save(filepath.Join("..", "testdata", "hf_arch", tc.dir)); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("/usr/bin/python3", filepath.Join("..", "testdata", "hf_arch", "gen.py"), "--written")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("gen.py --written: %v", err)
		}
	}
	for i, tc := range writtenCases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "hf_arch", tc.dir)
			fresh := filepath.Join(t.TempDir(), "ckpt")
			if err := writtenModel(t, i).Save(fresh); err != nil {
				t.Fatal(err)
			}
			committed, _, err := safetensors.Read(filepath.Join(dir, models.WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			now, _, err := safetensors.Read(filepath.Join(fresh, models.WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keysOf(committed), keysOf(now)) {
				t.Fatalf("the writer now writes %v, the committed checkpoint holds %v (rerun with -update-written)", keysOf(now), keysOf(committed))
			}
			for name, w := range now {
				if c := committed[name]; !c.SameShape(w.Shape) || !slices.Equal(c.Data, w.Data) {
					t.Errorf("%s differs from the writer's output (rerun with -update-written)", name)
				}
			}
			var a, b map[string]any
			readJSON(t, filepath.Join(dir, models.ConfigFile), &a)
			readJSON(t, filepath.Join(fresh, models.ConfigFile), &b)
			if !jsonEqual(a, b) {
				t.Errorf("config.json differs from the writer's output (rerun with -update-written):\n%v\n%v", a, b)
			}
			m, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.HFArchitecture != tc.arch {
				t.Errorf("written as %q, want %q", m.Config.HFArchitecture, tc.arch)
			}
			checkArchGolden(t, m, dir)
		})
	}
}
