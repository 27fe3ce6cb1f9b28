package circuits_test

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// newModel returns a model of cfg with every parameter zero (LayerNorm gains
// one), for weights set by hand.
func newModel(t *testing.T, cfg models.Config) *models.Model {
	t.Helper()
	m, err := models.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clear(m.Params.Data)
	if m.Config.HasLN() {
		setOnes(t, m, "ln_final.w", 0)
		for l := 0; l < cfg.NLayers; l++ {
			setOnes(t, m, "ln1.w", l)
			if !cfg.AttnOnly {
				setOnes(t, m, "ln2.w", l)
			}
		}
	}
	return m
}

func setOnes(t *testing.T, m *models.Model, name string, l int) {
	t.Helper()
	w, err := m.Weight(name, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.Data {
		w.Data[i] = 1
	}
	set(t, m, name, l, w)
}

func set(t *testing.T, m *models.Model, name string, l int, w *tensor.Tensor) {
	t.Helper()
	if err := m.SetWeight(name, l, w); err != nil {
		t.Fatal(err)
	}
}

// weight returns a zero tensor shaped like the named weight, for filling in.
func weight(t *testing.T, m *models.Model, name string, l int) *tensor.Tensor {
	t.Helper()
	w, err := m.Weight(name, l)
	if err != nil {
		t.Fatal(err)
	}
	clear(w.Data)
	return w
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol || (math.IsNaN(a) && math.IsNaN(b))
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i] / n
		my += y[i] / n
	}
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
