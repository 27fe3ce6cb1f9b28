package circuits

import (
	"encoding/json"
	"fmt"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
)

// Eigenvalues are complex eigenvalues; they encode to JSON as [re, im] pairs.
type Eigenvalues []complex128

// MarshalJSON writes [[re, im], ...] (null for a part that is not finite).
func (e Eigenvalues) MarshalJSON() ([]byte, error) {
	out := make([][2]jsonx.Float, len(e))
	for i, v := range e {
		out[i] = [2]jsonx.Float{jsonx.Float(real(v)), jsonx.Float(imag(v))}
	}
	return json.Marshal(out)
}

// HeadSummary is what the weights say about one head.
type HeadSummary struct {
	Head
	// OVCopying is the full OV circuit's eigenvalue copying score (see OVCopyingScore).
	OVCopying float64
	// QKCopying is the same score on the full QK circuit W_E W_Q W_K^T W_E^T:
	// near +1 when a token's query matches its own key (the head attends to
	// earlier copies of the current token), near -1 when it avoids them.
	QKCopying float64
	// OVEigenvalues and QKEigenvalues are the full circuits' eigenvalues (d_head of each).
	OVEigenvalues, QKEigenvalues Eigenvalues
	// OVNorm and QKNorm are the Frobenius norms of W_V W_O and W_Q W_K^T.
	OVNorm, QKNorm float64
}

// MarshalJSON writes the summary with null for a NaN score (a head whose
// weights are all zero).
func (h HeadSummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Layer         int         `json:"layer"`
		Head          int         `json:"head"`
		OVCopying     jsonx.Float `json:"ov_copying"`
		QKCopying     jsonx.Float `json:"qk_copying"`
		OVEigenvalues Eigenvalues `json:"ov_eigenvalues"`
		QKEigenvalues Eigenvalues `json:"qk_eigenvalues"`
		OVNorm        jsonx.Float `json:"ov_norm"`
		QKNorm        jsonx.Float `json:"qk_norm"`
	}{h.Layer, h.Head.Head, jsonx.Float(h.OVCopying), jsonx.Float(h.QKCopying), h.OVEigenvalues, h.QKEigenvalues, jsonx.Float(h.OVNorm), jsonx.Float(h.QKNorm)})
}

// Analysis is everything Analyze reads from a model's weights: one summary
// per head and the three kinds of composition scores with their baselines.
type Analysis struct {
	Config models.Config `json:"config"`
	// Heads in layer-major order.
	Heads []HeadSummary `json:"heads"`
	// Composition by kind, in the order of CompositionKinds (Q, K, V).
	Composition []*CompositionScores `json:"composition"`
}

// Scores returns the composition scores of one kind.
func (a *Analysis) Scores(kind CompositionKind) *CompositionScores {
	for _, s := range a.Composition {
		if s.Kind == kind {
			return s
		}
	}
	return nil
}

// TopPairs returns the n highest-scoring pairs over all three kinds, ranked
// by how far each stands above its random baseline (Z); only pairs above the
// baseline's 95th percentile are kept.
func (a *Analysis) TopPairs(n int) []CompositionPair {
	var all []CompositionPair
	for _, s := range a.Composition {
		for _, p := range s.Pairs() {
			if p.Score > s.Baseline.P95 {
				all = append(all, p)
			}
		}
	}
	sortPairsByZ(all)
	return all[:min(max(n, 0), len(all))]
}

// Analyze computes every weight-based score of every head: the copying
// scores and eigenvalues of the full OV and QK circuits, and the Q-, K- and
// V-composition of every pair of heads beside a random baseline drawn from
// seed (Elhage et al. 2021).
func Analyze(m *models.Model, seed uint64) (*Analysis, error) {
	w, err := LoadWeights(m)
	if err != nil {
		return nil, err
	}
	c := m.Config
	a := &Analysis{Config: c}
	for l := 0; l < c.NLayers; l++ {
		for h := 0; h < c.NHeads; h++ {
			s := HeadSummary{Head: Head{Layer: l, Head: h}}
			ov, err := w.Circuit(CircuitFullOV, l, h)
			if err != nil {
				return nil, err
			}
			qk, err := w.Circuit(CircuitFullQK, l, h)
			if err != nil {
				return nil, err
			}
			s.OVEigenvalues, s.QKEigenvalues = ov.Eigenvalues(), qk.Eigenvalues()
			if s.OVEigenvalues == nil || s.QKEigenvalues == nil {
				return nil, fmt.Errorf("circuits: eigendecomposition of head %s failed (non-finite weights?)", s.Head)
			}
			s.OVCopying, s.QKCopying = CopyingScore(s.OVEigenvalues), CopyingScore(s.QKEigenvalues)
			o, _ := w.Circuit(CircuitOV, l, h)
			q, _ := w.Circuit(CircuitQK, l, h)
			s.OVNorm, s.QKNorm = o.Norm(), q.Norm()
			a.Heads = append(a.Heads, s)
		}
	}
	for _, k := range CompositionKinds {
		s, err := w.Composition(k, seed)
		if err != nil {
			return nil, err
		}
		a.Composition = append(a.Composition, s)
	}
	return a, nil
}
