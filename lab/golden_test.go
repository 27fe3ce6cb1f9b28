package lab

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// TestGoldenPreferenceLosses compares the ranked-preference and binary
// losses, the rewards, and every gradient (the transformer's and the reward
// head's) with PyTorch on a tiny model, comparisons of different lengths
// padded on the right (testdata/lab/gen.py).
func TestGoldenPreferenceLosses(t *testing.T) {
	dir := filepath.Join("..", "testdata", "lab")
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := safetensors.Read(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tok, lens := want["tokens"], want["lengths"]
	B, T := tok.Shape[0], tok.Shape[1]
	P := B / 2
	seqs := make([][]int, B)
	for i := range seqs {
		for j := 0; j < int(lens.Data[i]); j++ {
			seqs[i] = append(seqs[i], int(tok.Data[i*T+j]))
		}
	}
	cs := make([]Comparison, P)
	for i := range cs {
		cs[i] = Comparison{Chosen: seqs[i], Rejected: seqs[P+i]}
	}
	pm := &PrefModel{Model: m, Head: append(append([]float32(nil), want["head.weight"].Data...), want["head.bias"].Data[0])}
	for _, obj := range []Objective{Preference, Binary} {
		t.Run(string(obj), func(t *testing.T) {
			g := pm.NewGrads()
			loss, err := pm.LossAndGrad(obj, cs, g)
			if err != nil {
				t.Fatal(err)
			}
			if w := float64(want[string(obj)+".loss"].Data[0]); math.Abs(loss-w) > 1e-5*math.Abs(w) {
				t.Errorf("loss %.7f, PyTorch %.7f", loss, w)
			}
			r, err := pm.Rewards(seqs, 2, nil) // chunks of 2: different paddings than the batch
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want[string(obj)+".rewards"].Data {
				if math.Abs(r[i]-float64(w)) > 1e-4 {
					t.Errorf("reward %d: %.6f, PyTorch %.6f", i, r[i], w)
				}
			}
			check := func(name string, got []float32, w *tensor.Tensor) {
				t.Helper()
				if w == nil || len(w.Data) != len(got) {
					t.Fatalf("%s: expected tensor missing or of the wrong size", name)
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - w.Data[i])); d > 1e-5+1e-3*math.Abs(float64(w.Data[i])) {
						t.Errorf("%s[%d]: %.7g, PyTorch %.7g", name, i, got[i], w.Data[i])
						return
					}
				}
			}
			C := m.Config.DModel
			check("head.weight", g.Head[:C], want[string(obj)+".grad.head.weight"])
			check("head.bias", g.Head[C:], want[string(obj)+".grad.head.bias"])
			for _, p := range m.Params.List() {
				check(p.Name, g.Model.Get(p.Name).Data, want[string(obj)+".grad."+p.Name])
			}
		})
	}
}
