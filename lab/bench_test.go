package lab

import (
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

// BenchmarkTrainStep compares one preference-model training step (64
// comparisons: 128 sequences, forward, the reward head, backward, AdamW)
// with one language-model step on the same 128 sequences of the same model
// (the default `prefs train` shape), so that the cost of the reward head
// and DFinal shows: the issue asks for preference-model training at the
// speed of `bench train` of the same shape.
func BenchmarkTrainStep(b *testing.B) {
	task := SyntheticConfig{Seed: 1}.WithDefaults()
	cfg := PrefsConfig{}.WithDefaults()
	m, err := models.New(cfg.Model)
	if err != nil {
		b.Fatal(err)
	}
	cs := task.Comparisons(SetTrain, 64)
	b.Run("preference", func(b *testing.B) {
		pm := NewPrefModel(m, 1)
		g := pm.NewGrads()
		opt := train.NewAdamW(m.Params, train.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		for i := 0; i < b.N; i++ {
			g.Zero()
			if _, err := pm.LossAndGrad(Preference, cs, g); err != nil {
				b.Fatal(err)
			}
			if err := opt.Step(m.Params.Data, g.Model.Data, 1e-4); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("language-model", func(b *testing.B) {
		T := task.SeqLen()
		tokens := make([]int, 0, 128*T)
		for _, c := range cs {
			tokens = append(tokens, c.Chosen...)
		}
		for _, c := range cs {
			tokens = append(tokens, c.Rejected...)
		}
		targets := make([]int, len(tokens))
		for i := range targets {
			targets[i] = -1
			if (i+1)%T != 0 {
				targets[i] = tokens[i+1]
			}
		}
		grads := m.Params.ZerosLike()
		opt := train.NewAdamW(m.Params, train.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		for i := 0; i < b.N; i++ {
			clear(grads.Data)
			p, err := m.Forward(tokens, 128, T, targets, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Backward(p, grads, nil); err != nil {
				b.Fatal(err)
			}
			p.Release()
			if err := opt.Step(m.Params.Data, grads.Data, 1e-4); err != nil {
				b.Fatal(err)
			}
		}
	})
}
