package report

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/viz"
)

// Circuits builds the page of `mechinterp circuits`: each head's OV and
// QK eigenvalue copying scores as bars, the Q-, K- and V-composition of every
// pair of heads as heatmaps [earlier head x later head] with the random
// baseline stated, and the eigenvalues of each head's full OV and QK circuits
// as scatters (real vs imaginary part, one series per head, one chart per
// layer). The analysis is embedded as JSON (mechinterp.data("circuits")).
// model names the checkpoint in the page's text.
func Circuits(a *circuits.Analysis, model string) (*viz.Report, error) {
	if a == nil || len(a.Heads) == 0 {
		return nil, errors.New("circuits report: no heads to show")
	}
	c := a.Config
	L, H := c.NLayers, c.NHeads
	r := viz.NewReport("Circuits from the weights: " + model)
	r.Section("", fmt.Sprintf("%d layers x %d heads, d_model %d, d_head %d, vocabulary %d. Every score on this page is computed from the weights alone "+
		"(Elhage et al. 2021, A Mathematical Framework for Transformer Circuits); with LayerNorm, its gains are folded into the weights that read the "+
		"residual stream and the weights that write it are centred, as TransformerLens does by default. The numbers are embedded as JSON (mechinterp.data(\"circuits\")).",
		L, H, c.DModel, c.DHead, c.DVocab))

	labels := make([]string, len(a.Heads))
	ov, qk := make([]float64, len(a.Heads)), make([]float64, len(a.Heads))
	for i, h := range a.Heads {
		labels[i], ov[i], qk[i] = h.Head.String(), h.OVCopying, h.QKCopying
	}
	r.Section("Copying scores", "The eigenvalue copying score is sum(λ)/sum(|λ|) over the eigenvalues of a head's full circuit through the embeddings. "+
		"For the OV circuit W_E W_V W_O W_U, +1 means attending to a token raises that token's logit (copying, as induction heads do) and -1 that it lowers it. "+
		"For the QK circuit W_E W_Q W_K^T W_E^T, +1 means a token's query matches keys of the same token.")
	r.Add(viz.Bars(viz.Spec{Title: "Eigenvalue copying scores per head", X: "head", Y: "copying score",
		Caption: "Blue: OV circuit (does the head copy what it attends to?); green: QK circuit (does it attend to the same token?). The axis is the score's whole range, -1 to +1."},
		labels, []viz.Series{{Name: "OV copying", Y: ov}, {Name: "QK copying", Y: qk}}, viz.HLine(0, "0"), viz.YRange(-1, 1)))

	r.Section("Composition", "A composition score ||L R||_F / (||L||_F ||R||_F) measures how much of what an earlier head writes (L = W_V W_O) a later head reads "+
		"through its queries (Q: R = W_Q W_K^T), keys (K: R transposed) or values (V: R = W_V W_O). Random matrices of the same shapes score about the "+
		"baseline given under each chart; only cells well above it indicate composition. An induction head K-composes with a previous-token head in an earlier layer.")
	if L < 2 {
		r.Section("", "This model has a single layer, so no head can compose with another.")
	} else {
		earlier, later := headLabels(0, L-1, H), headLabels(1, L, H)
		// Q-, K- and V-composition share one colour scale, so that their cells compare by
		// colour; it is centred on the random baseline (white), since a score means composition
		// only above it: red above, blue below. The three kinds' baselines are the same for
		// the same shapes; the centre is their mean and each caption gives its own.
		centre, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for _, s := range a.Composition {
			centre += s.Baseline.Mean / float64(len(a.Composition))
			for i := range earlier {
				for j := range later {
					if v := s.Scores[i][H+j]; finite(v) {
						lo, hi = min(lo, v), max(hi, v)
					}
				}
			}
		}
		if !(lo <= hi) {
			lo, hi = centre-1, centre+1
		}
		m := max(hi-centre, centre-lo, 1e-6)
		scale := []viz.Option{viz.DivergingAround(centre), viz.ColorRange(centre-m, centre+m),
			viz.Height(max(300, 60+28*len(earlier)))}
		if len(earlier)*len(later) <= 64 {
			scale = append(scale, viz.ShowValuesFixed(3)) // room for each cell's score
		}
		for _, s := range a.Composition {
			z := make([][]float64, len(earlier))
			for i := range z {
				z[i] = make([]float64, len(later))
				for j := range z[i] {
					z[i][j] = s.Scores[i][H+j] // rows: layers 0..L-2; columns: layers 1..L-1
				}
			}
			b := s.Baseline
			top := "no pair"
			if p := s.Top(1); len(p) > 0 {
				top = fmt.Sprintf("the top pair is %s -> %s at %.3f", p[0].Earlier, p[0].Later, p[0].Score)
				if p[0].Score <= b.P95 {
					top += fmt.Sprintf(", not above the baseline's 95th percentile: no sign of %s-composition", s.Kind)
				}
			}
			r.Add(viz.Heatmap(viz.Spec{Title: s.Kind.String() + "-composition", X: "later head", Y: "earlier head",
				Caption: fmt.Sprintf("Random baseline %.3f ± %.3f (95th percentile %.3f, %d draws); %s. White (the legend's middle) is the baseline, red above it, blue below; "+
					"one scale for Q, K and V. Blank: not an earlier->later pair.",
					b.Mean, b.Std, b.P95, b.Samples, top)},
				later, earlier, z, scale...))
		}
	}

	r.Section("Eigenvalues", "Each point is one eigenvalue of a head's full circuit (d_head of them per head; the rest are zero). "+
		"Points on the positive real axis mean copying, on the negative axis suppression; complex pairs mean the circuit rotates token directions.")
	for _, circuit := range []string{"OV", "QK"} {
		for l := 0; l < L; l++ {
			var series []viz.Series
			for _, h := range a.Heads {
				if h.Layer != l {
					continue
				}
				eig := h.OVEigenvalues
				if circuit == "QK" {
					eig = h.QKEigenvalues
				}
				s := viz.Series{Name: h.Head.String()}
				for _, v := range eig {
					s.X, s.Y = append(s.X, real(v)), append(s.Y, imag(v))
					s.Labels = append(s.Labels, h.Head.String())
				}
				series = append(series, s)
			}
			full, right := "W_E W_V W_O W_U", "copying"
			if circuit == "QK" {
				full, right = "W_E W_Q W_K^T W_E^T", "a token's query matching keys of the same token"
			}
			r.Add(viz.Scatter(viz.Spec{Title: fmt.Sprintf("Layer %d: eigenvalues of the full %s circuits", l, circuit), X: "real part", Y: "imaginary part",
				Caption: fmt.Sprintf("Eigenvalues of %s per head (click a head in the legend to hide it); right of the vertical axis is %s.", full, right)},
				series, viz.VLine(0, "")))
		}
	}
	r.Data("circuits", a)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("circuits report: %w", err)
	}
	return r, nil
}

// headLabels returns "L{l}H{h}" for layers [from, to).
func headLabels(from, to, H int) []string {
	var out []string
	for l := from; l < to; l++ {
		for h := 0; h < H; h++ {
			out = append(out, circuits.Head{Layer: l, Head: h}.String())
		}
	}
	return out
}
