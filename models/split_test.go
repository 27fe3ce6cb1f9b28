package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// TestSplitInputsSameModel checks that Options.SplitInputs changes no value
// when no hook replaces a split input: logits, loss and every parameter
// gradient match the plain pass, and the points fired are OptionHookNames's.
func TestSplitInputsSameModel(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(3, 3))
			B, T := 2, m.Config.NCtx
			tokens := randomTokens(rng, B*T, m.Config.DVocab)
			targets := randomTokens(rng, B*T, m.Config.DVocab)
			plain, err := m.Forward(tokens, B, T, targets, nil)
			if err != nil {
				t.Fatal(err)
			}
			var fired []string
			split, err := m.Forward(tokens, B, T, targets, &Options{SplitInputs: true, AttnResult: true,
				Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
					fired = append(fired, n)
					want, err := HookShape(m.Config, n, B, T)
					if err != nil || !a.SameShape(want) {
						t.Errorf("%s: shape %v, HookShape %v (%v)", n, a.Shape, want, err)
					}
					return nil, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			if want := OptionHookNames(m.Config, Options{SplitInputs: true, AttnResult: true}); !slices.Equal(fired, want) {
				t.Errorf("fired %q\nwant %q", fired, want)
			}
			if d := maxDiff(plain.Logits.Data, split.Logits.Data); d > 1e-5 {
				t.Errorf("logits differ by %.3g", d)
			}
			gp, gs := m.Params.ZerosLike(), m.Params.ZerosLike()
			if err := m.Backward(plain, gp, nil); err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(split, gs, nil); err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(gp.Data, gs.Data); d > 1e-5 {
				t.Errorf("parameter gradients differ by %.3g", d)
			}
		})
	}
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestSplitInputOnlyItsHead checks that replacing one head's query input
// changes that head's queries and nothing upstream of the scores of any
// other head, as edge patching needs.
func TestSplitInputOnlyItsHead(t *testing.T) {
	m := randomModel(t, testConfigs[0].cfg)
	B, T, H := 1, m.Config.NCtx, m.Config.NHeads
	tokens := randomTokens(rand.New(rand.NewPCG(4, 4)), B*T, m.Config.DVocab)
	run := func(shift float32) map[string]*tensor.Tensor {
		acts := map[string]*tensor.Tensor{}
		_, err := m.Forward(tokens, B, T, nil, &Options{SplitInputs: true, Hook: func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
			if n == ActName("q_input", 1) {
				for i := 0; i < B*T; i++ {
					a.Data[(i*H+1)*m.Config.DModel] += shift // head 1, first channel
				}
			}
			acts[n] = a.Clone()
			return nil, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return acts
	}
	base, moved := run(0), run(1)
	D := m.Config.DHead
	for _, name := range []string{ActName("q", 1), ActName("k", 1), ActName("v", 1)} {
		for i := 0; i < B*T; i++ {
			for h := 0; h < H; h++ {
				d := maxDiff(base[name].Data[(i*H+h)*D:(i*H+h+1)*D], moved[name].Data[(i*H+h)*D:(i*H+h+1)*D])
				if changed := d > 1e-6; changed != (h == 1 && strings.HasSuffix(name, "hook_q")) {
					t.Errorf("%s position %d head %d: changed by %.3g", name, i, h, d)
				}
			}
		}
	}
}

// TestSplitInputGradientsFiniteDifferences checks the gradients at the split
// inputs (and every other point of a split pass) against central differences.
func TestSplitInputGradientsFiniteDifferences(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg)
			rng := rand.New(rand.NewPCG(9, 9))
			B, T := 2, m.Config.NCtx
			tokens := randomTokens(rng, B*T, m.Config.DVocab)
			targets := randomTokens(rng, B*T, m.Config.DVocab)
			opt := Options{SplitInputs: true}
			pass, err := m.Forward(tokens, B, T, targets, &opt)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*tensor.Tensor{}
			if err := m.Backward(pass, nil, &BackwardOptions{GradHook: func(n string, g *tensor.Tensor) error {
				got[n] = g.Clone()
				return nil
			}}); err != nil {
				t.Fatal(err)
			}
			for _, name := range OptionHookNames(m.Config, opt) {
				if !strings.HasSuffix(name, "_input") && !strings.HasSuffix(name, "hook_mlp_in") {
					continue
				}
				g, ok := got[name+"_grad"]
				if !ok {
					t.Errorf("no gradient reported for %s", name)
					continue
				}
				for trial := 0; trial < 4; trial++ {
					i := rng.IntN(g.Len())
					loss := func(delta float32) float64 {
						o := opt
						o.Hook = func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
							if n == name {
								a.Data[i] += delta
							}
							return nil, nil
						}
						p, err := m.Forward(tokens, B, T, targets, &o)
						if err != nil {
							t.Fatal(err)
						}
						return float64(p.Loss)
					}
					const h = 1e-2
					numeric := (loss(h) - loss(-h)) / (2 * h)
					if d := math.Abs(numeric - float64(g.Data[i])); d > 2e-3+2e-2*math.Abs(numeric) {
						t.Errorf("%s_grad[%d]: analytic %.6g, numeric %.6g", name, i, g.Data[i], numeric)
					}
				}
			}
		})
	}
}
