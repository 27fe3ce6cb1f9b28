package models_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// TestGolden compares Forward and Backward with a PyTorch reference written
// by testdata/golden/gen.py (see testdata/golden/README.md): logits, losses,
// cached activations, activation gradients and every parameter gradient.
func TestGolden(t *testing.T) {
	const (
		logitTol = 1e-4 // max abs
		lossTol  = 1e-5 // relative
		actTol   = 1e-4 // max abs
		gradAbs  = 1e-4 // |got-want| <= gradAbs + gradRel*|want|
		gradRel  = 1e-3
	)
	root := filepath.Join("..", "testdata", "golden")
	for _, name := range []string{"gpt2", "attn_only", "shortformer_untied", "no_ln"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			m, err := models.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := safetensors.Read(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			get := func(k string) *tensor.Tensor {
				t.Helper()
				x, ok := want[k]
				if !ok {
					t.Fatalf("expected.safetensors has no %q", k)
				}
				return x
			}
			checkConfigJSON(t, dir, m.Config)

			tokT, tgtT := get("tokens"), get("targets")
			B, T := tokT.Shape[0], tokT.Shape[1]
			tokens, targets := toInts(tokT.Data), toInts(tgtT.Data)

			// Forward with a hook keeping a copy of every activation, with
			// hook_result computed (the per-head output path).
			acts := map[string]*tensor.Tensor{}
			hook := func(n string, a *tensor.Tensor) (*tensor.Tensor, error) {
				acts[n] = a.Clone()
				return nil, nil
			}
			pass, err := m.Forward(tokens, B, T, targets, &models.Options{Hook: hook, AttnResult: true})
			if err != nil {
				t.Fatal(err)
			}
			// And plainly: the summed-heads path must give the same logits.
			plain, err := m.Forward(tokens, B, T, targets, nil)
			if err != nil {
				t.Fatal(err)
			}

			wl := get("logits")
			for _, p := range []struct {
				what string
				p    *models.Pass
			}{{"logits (hooked, AttnResult)", pass}, {"logits (plain)", plain}} {
				d := maxAbsDiff(t, p.what, p.p.Logits, wl)
				t.Logf("%-28s max |diff| %.2e", p.what, d)
				if d > logitTol {
					t.Errorf("%s: max |diff| %.3g > %.0e", p.what, d, logitTol)
				}
			}

			wantLoss := float64(get("loss").Data[0])
			rel := math.Abs(float64(pass.Loss)-wantLoss) / math.Abs(wantLoss)
			t.Logf("%-28s %.7f vs %.7f, rel diff %.2e", "loss", pass.Loss, wantLoss, rel)
			if !(rel <= lossTol) {
				t.Errorf("loss %v, want %v (rel diff %.3g > %.0e)", pass.Loss, wantLoss, rel, lossTol)
			}
			if d := maxAbsDiff(t, "losses", pass.Losses, get("losses")); d > actTol {
				t.Errorf("per-token losses: max |diff| %.3g > %.0e", d, actTol)
			} else {
				t.Logf("%-28s max |diff| %.2e", "per-token losses", d)
			}

			// Activations under TransformerLens hook names.
			var worstAct float64
			nActs := 0
			for _, k := range sortedKeys(want, "act.") {
				hookName := strings.TrimPrefix(k, "act.")
				got, ok := acts[hookName]
				if !ok {
					t.Errorf("hook %s never fired (PyTorch reference has it)", hookName)
					continue
				}
				d := maxAbsDiff(t, hookName, got, want[k])
				worstAct = max(worstAct, d)
				nActs++
				if d > actTol {
					t.Errorf("activation %s: max |diff| %.3g > %.0e", hookName, d, actTol)
				}
			}
			t.Logf("%-28s max |diff| %.2e over %d hook points", "activations", worstAct, nActs)

			// Backward: every parameter gradient, and gradients at a few hook points.
			grads := m.Params.ZerosLike()
			actGrads := map[string]*tensor.Tensor{}
			err = m.Backward(pass, grads, &models.BackwardOptions{GradHook: func(n string, g *tensor.Tensor) error {
				actGrads[n] = g.Clone()
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			wantGrads := sortedKeys(want, "grad.")
			if got, w := len(m.Params.Names()), len(wantGrads); got != w {
				t.Errorf("model has %d parameters, reference has gradients for %d", got, w)
			}
			var worstGrad, worstGradRatio float64
			worstName := ""
			for _, k := range wantGrads {
				pname := strings.TrimPrefix(k, "grad.")
				g := grads.Get(pname)
				if g == nil {
					t.Errorf("reference has a gradient for %s, the model has no such parameter", pname)
					continue
				}
				d, ratio := gradDiff(t, pname, g, want[k], gradAbs, gradRel)
				if ratio > worstGradRatio {
					worstGradRatio, worstName = ratio, pname
				}
				worstGrad = max(worstGrad, d)
				if ratio > 1 {
					t.Errorf("gradient of %s: |diff| exceeds %.0e + %.0e·|want| (max |diff| %.3g, %.2f× the tolerance)",
						pname, gradAbs, gradRel, d, ratio)
				}
			}
			t.Logf("%-28s max |diff| %.2e; worst %.3f of tolerance (%s), %d tensors",
				"parameter gradients", worstGrad, worstGradRatio, worstName, len(wantGrads))
			var worstActGrad float64
			for _, k := range sortedKeys(want, "actgrad.") {
				n := strings.TrimPrefix(k, "actgrad.") + "_grad"
				got, ok := actGrads[n]
				if !ok {
					t.Errorf("gradient hook %s never fired", n)
					continue
				}
				d, ratio := gradDiff(t, n, got, want[k], gradAbs, gradRel)
				worstActGrad = max(worstActGrad, d)
				if ratio > 1 {
					t.Errorf("%s: max |diff| %.3g, %.2f× the tolerance", n, d, ratio)
				}
			}
			t.Logf("%-28s max |diff| %.2e", "hook-point gradients", worstActGrad)
		})
	}
}

// checkConfigJSON checks that the generator's config.json says what
// MarshalHFConfig would write for the loaded config (same keys and values).
func checkConfigJSON(t *testing.T, dir string, cfg models.Config) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, models.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := models.MarshalHFConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ours, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("config.json differs from MarshalHFConfig of the loaded config:\n%s\nvs\n%s", raw, ours)
	}
}

func toInts(xs []float32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func sortedKeys(m map[string]*tensor.Tensor, prefix string) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

// maxAbsDiff is the largest |got-want|; equal infinities (masked attention
// scores) count as equal, and a NaN or a shape mismatch fails the test.
func maxAbsDiff(t *testing.T, what string, got, want *tensor.Tensor) float64 {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: shape %s, want %s", what, tensor.ShapeString(got.Shape), tensor.ShapeString(want.Shape))
		return math.Inf(1)
	}
	var d float64
	for i, w := range want.Data {
		g := got.Data[i]
		if g == w {
			continue
		}
		diff := math.Abs(float64(g) - float64(w))
		if math.IsNaN(diff) {
			t.Errorf("%s: element %d is %v, want %v", what, i, g, w)
			return math.Inf(1)
		}
		d = max(d, diff)
	}
	return d
}

// gradDiff returns the largest |got-want| and the largest ratio of |got-want|
// to the tolerance abs + rel·|want| (above 1 means a failure).
func gradDiff(t *testing.T, what string, got, want *tensor.Tensor, abs, rel float64) (float64, float64) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: shape %s, want %s", what, tensor.ShapeString(got.Shape), tensor.ShapeString(want.Shape))
		return math.Inf(1), math.Inf(1)
	}
	var d, ratio float64
	for i, w := range want.Data {
		diff := math.Abs(float64(got.Data[i]) - float64(w))
		if math.IsNaN(diff) {
			return math.Inf(1), math.Inf(1)
		}
		d = max(d, diff)
		ratio = max(ratio, diff/(abs+rel*math.Abs(float64(w))))
	}
	return d, ratio
}
