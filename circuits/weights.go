package circuits

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Weights are a model's matrices in float64, read under TransformerLens names
// and processed as TransformerLens's defaults do (see the package comment):
// with LayerNorm, ln1's gain folded into W_Q, W_K, W_V, ln_final's gain into
// W_U, and W_E, W_pos and W_O centred over d_model.
type Weights struct {
	Config models.Config
	WE     *mat.Dense // [vocab, d_model]
	WPos   *mat.Dense // [n_ctx, d_model]
	WU     *mat.Dense // [d_model, vocab]
	// WQ, WK, WV [layer][head] are [d_model, d_head]; WO [layer][head] is [d_head, d_model].
	WQ, WK, WV, WO [][]*mat.Dense
}

// LoadWeights reads and processes every weight the circuits need.
func LoadWeights(m *models.Model) (*Weights, error) {
	if m == nil {
		return nil, fmt.Errorf("circuits: nil model")
	}
	c := m.Config
	if !c.IsGPT2() {
		// Rotary positions make the QK circuit depend on the distance
		// between positions, and RMSNorm keeps the mean these circuits
		// remove: the weight-based circuits here are GPT-2's.
		return nil, fmt.Errorf("circuits: the weight-based circuits are written for GPT-2's architecture (learned positions, LayerNorm, all heads with their own keys); this model is another (%s positions, %s normalization): use the activation-based analyses", c.Positional, c.Normalization)
	}
	ln := c.HasLN()
	w := &Weights{Config: c}
	get := func(name string, l int) (*tensor.Tensor, error) {
		t, err := m.Weight(name, l)
		if err != nil {
			return nil, fmt.Errorf("circuits: reading weights: %w", err)
		}
		return t, nil
	}
	var err error
	if w.WE, err = dense2(get("W_E", 0)); err != nil {
		return nil, err
	}
	if w.WPos, err = dense2(get("W_pos", 0)); err != nil {
		return nil, err
	}
	if w.WU, err = dense2(get("W_U", 0)); err != nil {
		return nil, err
	}
	if ln {
		centreRows(w.WE)
		centreRows(w.WPos)
		g, err := get("ln_final.w", 0)
		if err != nil {
			return nil, err
		}
		scaleRows(w.WU, g.Data)
	}
	L, H := c.NLayers, c.NHeads
	w.WQ, w.WK, w.WV, w.WO = make([][]*mat.Dense, L), make([][]*mat.Dense, L), make([][]*mat.Dense, L), make([][]*mat.Dense, L)
	for l := 0; l < L; l++ {
		var gain []float32
		if ln {
			g, err := get("ln1.w", l)
			if err != nil {
				return nil, err
			}
			gain = g.Data
		}
		for _, p := range []struct {
			name string
			dst  *[]*mat.Dense
		}{{"W_Q", &w.WQ[l]}, {"W_K", &w.WK[l]}, {"W_V", &w.WV[l]}, {"W_O", &w.WO[l]}} {
			t, err := get(p.name, l)
			if err != nil {
				return nil, err
			}
			*p.dst = make([]*mat.Dense, H)
			r, cc := t.Shape[1], t.Shape[2]
			for h := 0; h < H; h++ {
				d := toDense(t.Data[h*r*cc:(h+1)*r*cc], r, cc)
				switch {
				case p.name == "W_O" && ln:
					centreRows(d)
				case p.name != "W_O" && ln:
					scaleRows(d, gain)
				}
				(*p.dst)[h] = d
			}
		}
	}
	return w, nil
}

func dense2(t *tensor.Tensor, err error) (*mat.Dense, error) {
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("circuits: want a matrix, got shape %s", tensor.ShapeString(t.Shape))
	}
	return toDense(t.Data, t.Shape[0], t.Shape[1]), nil
}

func toDense(s []float32, r, c int) *mat.Dense {
	d := make([]float64, r*c)
	for i, v := range s {
		d[i] = float64(v)
	}
	return mat.NewDense(r, c, d)
}

// centreRows removes each row's mean: a vector written into the residual
// stream of a LayerNorm model loses its mean before anything reads it.
func centreRows(x *mat.Dense) {
	r, _ := x.Dims()
	for i := 0; i < r; i++ {
		row := x.RawRowView(i)
		var s float64
		for _, v := range row {
			s += v
		}
		s /= float64(len(row))
		for j := range row {
			row[j] -= s
		}
	}
}

// scaleRows multiplies row i by g[i]: folding a LayerNorm gain into the
// matrix that reads the normalised vector, diag(g)·W.
func scaleRows(x *mat.Dense, g []float32) {
	r, _ := x.Dims()
	for i := 0; i < r; i++ {
		row := x.RawRowView(i)
		for j := range row {
			row[j] *= float64(g[i])
		}
	}
}

// CheckHead reports whether the model has the given layer and head.
func CheckHead(c models.Config, layer, head int) error {
	if layer < 0 || layer >= c.NLayers {
		return fmt.Errorf("circuits: layer %d out of range [0,%d)", layer, c.NLayers)
	}
	if head < 0 || head >= c.NHeads {
		return fmt.Errorf("circuits: head %d out of range [0,%d)", head, c.NHeads)
	}
	return nil
}

// CircuitKind names one of a head's circuits.
type CircuitKind int

// The circuits of one head (Elhage et al. 2021). Residual-stream vectors are
// rows, as in TransformerLens: a query x_q attends to a key x_k with score
// x_q · QK · x_k^T, and a head attending to x writes x · OV.
const (
	// CircuitQK is W_Q W_K^T [d_model, d_model].
	CircuitQK CircuitKind = iota
	// CircuitOV is W_V W_O [d_model, d_model].
	CircuitOV
	// CircuitFullQK is W_E W_Q W_K^T W_E^T [vocab, vocab]: query token by key token.
	CircuitFullQK
	// CircuitFullOV is W_E W_V W_O W_U [vocab, vocab]: attended token by output logit.
	CircuitFullOV
	// CircuitPosQK is W_pos W_Q W_K^T W_pos^T [n_ctx, n_ctx]: query position by key position.
	CircuitPosQK
)

var circuitNames = []string{"QK", "OV", "full QK", "full OV", "positional QK"}

// String returns the circuit's name.
func (k CircuitKind) String() string {
	if k < 0 || int(k) >= len(circuitNames) {
		return fmt.Sprintf("CircuitKind(%d)", int(k))
	}
	return circuitNames[k]
}

// Circuit returns one of head (layer, head)'s circuits as a Factored matrix
// whose inner dimension is d_head.
func (w *Weights) Circuit(kind CircuitKind, layer, head int) (Factored, error) {
	if err := CheckHead(w.Config, layer, head); err != nil {
		return Factored{}, err
	}
	q, k, v, o := w.WQ[layer][head], w.WK[layer][head], w.WV[layer][head], w.WO[layer][head]
	mul := func(a, b mat.Matrix) *mat.Dense {
		var out mat.Dense
		out.Mul(a, b)
		return &out
	}
	switch kind {
	case CircuitQK:
		return Factored{A: q, B: mat.DenseCopyOf(k.T())}, nil
	case CircuitOV:
		return Factored{A: v, B: o}, nil
	case CircuitFullQK:
		return Factored{A: mul(w.WE, q), B: mul(k.T(), w.WE.T())}, nil
	case CircuitFullOV:
		return Factored{A: mul(w.WE, v), B: mul(o, w.WU)}, nil
	case CircuitPosQK:
		return Factored{A: mul(w.WPos, q), B: mul(k.T(), w.WPos.T())}, nil
	}
	return Factored{}, fmt.Errorf("circuits: unknown circuit kind %d", int(kind))
}

// HeadCircuit loads the model's weights and returns one circuit of one head.
// To look at many heads, LoadWeights once and call Weights.Circuit.
func HeadCircuit(m *models.Model, kind CircuitKind, layer, head int) (Factored, error) {
	if m == nil {
		return Factored{}, fmt.Errorf("circuits: nil model")
	}
	if err := CheckHead(m.Config, layer, head); err != nil {
		return Factored{}, err
	}
	w, err := LoadWeights(m)
	if err != nil {
		return Factored{}, err
	}
	return w.Circuit(kind, layer, head)
}

func mustCircuit(m *models.Model, kind CircuitKind, layer, head int) Factored {
	f, err := HeadCircuit(m, kind, layer, head)
	if err != nil {
		panic(err)
	}
	return f
}

// QK returns head (layer, head)'s QK circuit W_Q W_K^T [d_model, d_model]
// (Elhage et al. 2021). It panics on a layer or head out of range, as
// indexing does; HeadCircuit returns an error instead.
func QK(m *models.Model, layer, head int) Factored { return mustCircuit(m, CircuitQK, layer, head) }

// OV returns head (layer, head)'s OV circuit W_V W_O [d_model, d_model]
// (Elhage et al. 2021). It panics on a layer or head out of range.
func OV(m *models.Model, layer, head int) Factored { return mustCircuit(m, CircuitOV, layer, head) }

// FullOV returns the full OV circuit W_E W_V W_O W_U [vocab, vocab]: row t is
// what attending to token t does to every output logit through this head
// alone (Elhage et al. 2021). It panics on a layer or head out of range.
func FullOV(m *models.Model, layer, head int) Factored {
	return mustCircuit(m, CircuitFullOV, layer, head)
}

// FullQK returns the full QK circuit W_E W_Q W_K^T W_E^T [vocab, vocab]: entry
// (i, j) is the attention score a query token i gives a key token j through
// the token embeddings alone (Elhage et al. 2021). FullQKPos is its positional
// counterpart. It panics on a layer or head out of range.
func FullQK(m *models.Model, layer, head int) Factored {
	return mustCircuit(m, CircuitFullQK, layer, head)
}

// FullQKPos returns the positional QK circuit W_pos W_Q W_K^T W_pos^T
// [n_ctx, n_ctx]: the score a query position gives a key position through the
// positional embeddings alone (a previous-token head shows a strong
// sub-diagonal). It panics on a layer or head out of range.
func FullQKPos(m *models.Model, layer, head int) Factored {
	return mustCircuit(m, CircuitPosQK, layer, head)
}

// OVCopyingScore returns the eigenvalue copying score of head (layer, head)'s
// full OV circuit, sum(λ)/sum(|λ|) with the real part of the numerator
// (Elhage et al. 2021; docs/REFERENCE.md): +1 for a head that raises the logit of
// the token it attends to, -1 for one that lowers it. The eigenvalues are
// those of the d_head x d_head factor (see Factored.Eigenvalues). It panics on
// a layer or head out of range.
func OVCopyingScore(m *models.Model, layer, head int) float64 {
	return CopyingScore(FullOV(m, layer, head).Eigenvalues())
}
