package run

import (
	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// DemoSteps is the demo recipe's training length: its loss bump comes at
// step ~850-1000.
const DemoSteps = 1500

// DemoConfig is the recipe of `mechinterp demo`, a run in which induction
// heads form within a minute on 2 cores. It keeps docs/REFERENCE.md's
// model, optimizer and data (2 layers, 4 heads, d_model 64, LayerNorm,
// vocab 128, context 64, batch 32, AdamW lr 3e-3; the synthetic language,
// each sequence carrying a span of 10-29 tokens repeated at a random place)
// and changes two things, measured (see docs/training.md, "The demo"):
//
//   - random_fraction 1: every sequence's background is uniform random
//     tokens, so the planted repeat is the only structure beyond token
//     frequencies. With half the sequences on the Zipfian Markov chain (the
//     language's default) no induction head formed within 2,500 steps.
//   - initializer_range 0.1 (TransformerLens's 0.8/√d_model) instead of
//     GPT-2's 0.02, at which small models are slow to form any attention
//     pattern.
//
// The loss bump and the induction head then come at step ~850-1000; prefix
// matching, measured on [BOS]+r+r (a form never trained on) at |r| = 25 and
// 31, reaches ~0.8.
func DemoConfig() Config {
	c := DefaultConfig()
	c.Model = models.Config{NLayers: 2, NHeads: 4, DModel: 64, NCtx: 64, DVocab: 128, AttnOnly: true,
		Normalization: models.NormLN, Positional: models.PosStandard, InitializerRange: 0.1, Seed: 1}.WithDefaults()
	c.Data = data.Config{Kind: data.KindSynthetic, Seed: 1,
		Synthetic: data.SyntheticConfig{Vocab: 128, RandomFraction: data.Float(1)}}.WithDefaults()
	t := train.DefaultConfig()
	t.Steps, t.BatchSize, t.Warmup = DemoSteps, 32, 100
	t.LR, t.MinLR = 3e-3, 3e-3 // constant after the warmup, as measured
	t.EvalEvery, t.EvalBatches = 50, 4
	t.Checkpoints = train.CheckpointSchedule{PerDoubling: 2, Every: 50}
	t.Seed = 1
	c.Train = t
	return c
}

// NeuronsDemoConfig is the model of `mechinterp demo neurons` and
// docs/recipes/goroot-mlp.yaml: one layer (4 heads, d_model 128, 512 GELU
// MLP neurons, LayerNorm, context 64) on the built-in Go corpus read with
// the BPE in tokenizer (a directory of vocab.json and merges.txt), batch 32,
// AdamW lr 3e-3 with warmup and cosine decay to 3e-4, steps steps.
func NeuronsDemoConfig(tokenizer string, steps int) Config {
	c := DefaultConfig()
	c.Model = models.Config{NLayers: 1, NHeads: 4, DModel: 128, DMLP: 512, NCtx: 64,
		Normalization: models.NormLN, Positional: models.PosStandard, Seed: 1}.WithDefaults()
	c.Data = data.Config{Kind: data.KindGoroot, Seed: 1, Goroot: data.GorootConfig{Tokenizer: tokenizer}}.WithDefaults()
	t := train.DefaultConfig()
	t.Steps, t.BatchSize, t.SeqLen, t.Warmup = steps, 32, 64, min(100, steps)
	t.LR, t.MinLR, t.WeightDecay = 3e-3, 3e-4, 0.01
	t.EvalEvery, t.EvalBatches = 250, 4
	t.Checkpoints = train.CheckpointSchedule{PerDoubling: 1, Every: 1000}
	t.Seed = 1
	c.Train = t
	return c
}
