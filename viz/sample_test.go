package viz

import (
	"fmt"
	"math"
)

// sampleReport builds a report with one chart of each kind and every option, for the HTML and
// browser tests.
func sampleReport() *Report {
	feats := []string{"f0", "f1", "f2", "f3", "f4"}
	wtw := make([][]float64, 5)
	for i := range wtw {
		wtw[i] = make([]float64, 5)
		for j := range wtw[i] {
			wtw[i][j] = math.Cos(2 * math.Pi * float64(i-j) / 5)
		}
	}
	attn := [][]float64{{1, math.NaN(), math.NaN()}, {0.3, 0.7, math.NaN()}, {0.2, 0.5, 0.3}}
	toks := []string{"<|endoftext|>", "The", "cat"}
	var px, py []float64
	for i := range 5 {
		a := 2 * math.Pi * float64(i) / 5
		px, py = append(px, math.Cos(a)), append(py, math.Sin(a))
	}
	steps := []float64{0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
	var loss, score []float64
	for _, s := range steps {
		loss = append(loss, 4/(1+s/300)+0.5)
		score = append(score, 1/(1+math.Exp(-(s-800)/200)))
	}
	r := NewReport("Sample report <all charts>")
	r.Section("Geometry", "W^T W of five features in two dimensions.\n\nA pentagon.")
	r.Add(
		Heatmap(Spec{Title: "W^T W", X: "feature j", Y: "feature i", Caption: "Red: features point the same way; blue: opposite; white: orthogonal."},
			feats, feats, wtw, Diverging(), ShowValuesFixed(2)),
		Heatmap(Spec{Title: "Attention L0H0", X: "key", Y: "query", Caption: "Row = query token; darker = more attention."},
			toks, toks, attn, ColorRange(0, 1), Height(300)),
		Bars(Spec{Title: "Feature norms", X: "feature", Y: "||W_i||", Caption: "Bar height: how strongly a feature is represented; colour: its interference."},
			feats, []Series{{Name: "norm", Y: []float64{1, 0.9, 1, 0.95, 1}}}, ColorBy("interference", []float64{0, 0.1, 0.3, 0.2, 0.05}), HLine(1, "unit norm")),
		Scatter(Spec{Title: "Feature directions", X: "hidden 0", Y: "hidden 1", Caption: "Each point is a column of W; lines from the origin show directions."},
			[]Series{{Name: "features", X: px, Y: py, Labels: feats}}, EqualAxes(), FromOrigin()),
		Lines(Spec{Title: "Induction score over training", X: "step", Y: "induction score", Caption: "Score rises at the loss bump (dashed line)."},
			[]Series{{Name: "L1H3", X: steps, Y: score}, {Name: "loss", X: steps, Y: loss, RightAxis: true}},
			LogX(), YRight("loss"), VLine(800, "loss bump"), HLine(0.5, "threshold")),
	)
	r.Data("wtw", map[string]any{"features": feats, "values": wtw[0]})
	r.Section("Notes", fmt.Sprintf("%d steps.", len(steps)))
	return r
}
