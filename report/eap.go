package report

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/viz"
)

// edgeColors tells a head's query, key and value inputs apart in the
// circuit graph (the palette's blue, red and green); other edges are grey.
var edgeColors = map[string]string{"q": "#5470c6", "k": "#ee6666", "v": "#3ba272", "": "#666666"}

// Discovery builds the page of `mechinterp eap`: the circuit as a layered
// graph (edge width by |score|, q/k/v inputs in their own colours, the
// score and the true effect on hover), the faithfulness curve over circuit
// size, each method's scores against the true edge effects, and the node
// scores. Everything is embedded as JSON (mechinterp.data("discovery")).
func Discovery(d *circuits.Discovery, model string) (*viz.Report, error) {
	if d == nil || len(d.Edges) == 0 {
		return nil, errors.New("eap report: no edges")
	}
	r := viz.NewReport("Circuit discovery: " + model)
	r.Section("", fmt.Sprintf("%s scores (metric %s, %d prompt pairs; clean run %.4g, corrupted %.4g). "+
		"The circuit is the %s selection of %d of the %d edges; run on the clean prompts with every other edge carrying its value from the corrupted run, "+
		"it recovers a fraction %.3f of the metric's change (faithfulness: 1 = the clean run, 0 = the corrupted one).",
		strings.ToUpper(string(d.Method)), d.Metric, d.Pairs, d.Clean, d.Corrupted, d.Selection, d.CircuitEdges, len(d.Edges), d.Faithfulness))
	r.Section("The circuit", "Nodes left to right in the order the model runs them. An edge is one node's output read by one input of a later node "+
		"through the residual stream; its width is proportional to |score| (the widest is the largest score in the circuit). Hover an edge for its score and true patching effect.")
	r.Raw(circuitSVG(d))

	var xs, ys []float64
	for _, c := range d.Curve {
		if c.Edges > 0 {
			xs, ys = append(xs, float64(c.Edges)), append(ys, float64(c.Faithfulness))
		}
	}
	curveOpts := []viz.Option{viz.LogX(), viz.HLine(1, "clean run")}
	if d.CircuitEdges > 0 {
		curveOpts = append(curveOpts, viz.VLine(float64(d.CircuitEdges), "the circuit"))
	}
	r.Add(viz.Lines(viz.Spec{Title: "Faithfulness by circuit size", X: "edges in the circuit (after pruning)", Y: "faithfulness",
		Caption: "Each point patches every edge outside a circuit of that many top edges to its corrupted value; 1 restores the clean metric, 0 is the corrupted run."},
		[]viz.Series{{Name: "faithfulness", X: xs, Y: ys}}, curveOpts...))

	var series []viz.Series
	var corr []string
	names := make([]string, len(d.Edges))
	effects := make([]float64, len(d.Edges))
	for i, e := range d.Edges {
		names[i], effects[i] = e.Name, float64(e.Effect)
	}
	for _, ms := range d.Methods {
		if math.IsNaN(float64(ms.Spearman)) {
			continue
		}
		s := viz.Series{Name: string(ms.Method), X: effects, Y: make([]float64, len(ms.Scores)), Labels: names}
		for i, v := range ms.Scores {
			s.Y[i] = float64(v)
		}
		series = append(series, s)
		corr = append(corr, fmt.Sprintf("%s: Spearman %.3f, Pearson %.3f", ms.Method, ms.Spearman, ms.Pearson))
	}
	if len(series) > 0 {
		r.Add(viz.Scatter(viz.Spec{Title: "Scores against true edge effects", X: "true effect: metric(edge corrupted) - metric(clean)", Y: "score (estimate of the same)",
			Caption: "One point per edge and method; on the diagonal the estimate is exact. " + strings.Join(corr, "; ") + "."},
			series, viz.EqualAxes()))
	}

	var nodes []string
	var scores []float64
	for i, n := range d.Nodes {
		if n.Kind != circuits.NodeLogits {
			nodes, scores = append(nodes, n.Name), append(scores, float64(d.NodeScores[i]))
		}
	}
	r.Add(viz.Bars(viz.Spec{Title: "Node scores", X: "node", Y: "score",
		Caption: "Each node's score: the estimated change in the metric when all of its outputs carry their corrupted values (the sum of its outgoing edges' scores)."},
		nodes, []viz.Series{{Name: string(d.Method), Y: scores}}))
	r.Data("discovery", d)
	return r, nil
}

// circuitSVG draws the circuit's edges between the graph's nodes, laid out
// in columns: the input, each layer's heads, its MLP, the logits.
func circuitSVG(d *circuits.Discovery) template.HTML {
	const colW, rowH, boxW, boxH, pad = 150, 46, 64, 30, 30
	col := make([]int, len(d.Nodes))
	row := make([]int, len(d.Nodes))
	rows := map[int]int{} // nodes per column
	c := 0
	last := -2
	for i, n := range d.Nodes {
		switch n.Kind {
		case circuits.NodeInput:
			c = 0
		case circuits.NodeHead:
			if n.Layer != last {
				c++
				last = n.Layer
			}
		default: // an MLP or the logits: a column of its own
			c++
			last = -2
		}
		col[i], row[i] = c, rows[c]
		rows[c]++
	}
	maxRows := 1
	for _, n := range rows {
		maxRows = max(maxRows, n)
	}
	W, H := pad*2+c*colW+boxW, pad*2+maxRows*rowH
	xy := func(i int) (float64, float64) {
		off := float64(maxRows-rows[col[i]]) * rowH / 2 // centre short columns
		return float64(pad + col[i]*colW), float64(pad) + off + float64(row[i]*rowH)
	}
	index := map[string]int{}
	for i, n := range d.Nodes {
		index[n.Name] = i
	}
	maxScore := 0.0
	for _, e := range d.Edges {
		if e.InCircuit {
			maxScore = math.Max(maxScore, math.Abs(float64(e.Score)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="mi-circuit" width="%d" height="%d" viewBox="0 0 %d %d" style="font:12px sans-serif;background:#fff">`, W, H, W, H)
	inY := map[string]float64{"q": 7, "k": 15, "v": 23, "": 15}
	for _, e := range d.Edges {
		if !e.InCircuit {
			continue
		}
		x1, y1 := xy(index[e.From])
		x2, y2 := xy(index[e.To])
		x1 += boxW
		y1 += boxH / 2
		y2 += inY[e.Input]
		w := 1.0
		if maxScore > 0 {
			w = 1 + 9*math.Abs(float64(e.Score))/maxScore
		}
		fmt.Fprintf(&b, `<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="%.2f" stroke-opacity="0.8"><title>%s&#10;score %.4g&#10;true effect %s</title></path>`,
			x1, y1, (x1+x2)/2, y1, (x1+x2)/2, y2, x2, y2, edgeColors[e.Input], w, html.EscapeString(e.Name), float64(e.Score), effectText(float64(e.Effect)))
	}
	inCircuit := map[string]bool{}
	for _, e := range d.Edges {
		if e.InCircuit {
			inCircuit[e.From], inCircuit[e.To] = true, true
		}
	}
	for i, n := range d.Nodes {
		x, y := xy(i)
		fill, stroke := "#f4f4f4", "#bbb"
		if inCircuit[n.Name] {
			fill, stroke = "#fff", "#333"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" rx="4" fill="%s" stroke="%s"><title>%s: node score %.4g</title></rect>`,
			x, y, boxW, boxH, fill, stroke, html.EscapeString(n.Name), float64(d.NodeScores[i]))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" dominant-baseline="middle">%s</text>`, x+boxW/2, y+boxH/2, html.EscapeString(n.Name))
		if n.Kind == circuits.NodeHead {
			for _, in := range []string{"q", "k", "v"} {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="8" fill="%s" dominant-baseline="middle">%s</text>`, x+2, y+inY[in], edgeColors[in], in)
			}
		}
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<p class="mi-legend" style="font-size:13px">Edge colour: into a head's <span style="color:%s">query</span>, <span style="color:%s">key</span> or <span style="color:%s">value</span> input, or <span style="color:%s">into an MLP or the logits</span>. Width: |score|, from 1 px (0) to 10 px (%.4g). Grey boxes take no part in the circuit.</p>`,
		edgeColors["q"], edgeColors["k"], edgeColors["v"], edgeColors[""], maxScore)
	return template.HTML(b.String())
}

func effectText(v float64) string {
	if math.IsNaN(v) {
		return "not measured (--effects)"
	}
	return fmt.Sprintf("%.4g", v)
}

// LensPage builds the page of `mechinterp lens`: per layer (rows) and
// position (columns) the lens's top token, the probability of the next
// token and the KL divergence to the model's final distribution. label
// names token ids.
func LensPage(l *circuits.Lens, label func(int) string) (*viz.Report, error) {
	if l == nil || len(l.Layers) == 0 || len(l.Tokens) == 0 {
		return nil, errors.New("lens report: nothing to draw")
	}
	r := viz.NewReport(fmt.Sprintf("The %s lens", l.Kind))
	what := "the final normalization and the unembedding (the logit lens, nostalgebraist 2020)"
	if l.Kind == "tuned" {
		what = "a learned affine translator per layer, then the final normalization and the unembedding (the tuned lens, Belrose et al. 2023)"
	}
	r.Section("", "Each row reads the residual stream after one layer (embed: before the first block) through "+what+
		". The last row is the model's own prediction.")
	T := len(l.Tokens)
	pos := make([]string, T)
	for t, id := range l.Tokens {
		pos[t] = fmt.Sprintf("%s (%d)", label(id), t)
	}
	prob := make([][]float64, len(l.Layers))
	kl := make([][]float64, len(l.Layers))
	maxKL := 0.0
	for i := range l.Layers {
		prob[i], kl[i] = make([]float64, T), make([]float64, T)
		for t := 0; t < T; t++ {
			prob[i][t], kl[i][t] = float64(l.AnswerProb[i][t]), float64(l.KL[i][t])
			maxKL = math.Max(maxKL, kl[i][t])
		}
	}
	height := viz.Height(min(2000, max(260, 110+28*len(l.Layers))))
	r.Raw(lensTable(l, pos, label))
	r.Add(viz.Heatmap(viz.Spec{Title: "Probability of the next token", X: "position (token)", Y: "layer",
		Caption: "The probability the lens gives the token that actually comes next (at the last position, the answer given, else blank); 0 white to 1 dark blue."},
		pos, l.Layers, prob, viz.ColorRange(0, 1), height))
	r.Add(viz.Heatmap(viz.Spec{Title: "KL divergence to the final distribution", X: "position (token)", Y: "layer",
		Caption: fmt.Sprintf("KL(final || lens) in nats: 0 (white) where the lens already predicts what the model will; the darkest is %.3g.", maxKL)},
		pos, l.Layers, kl, viz.ColorRange(0, math.Max(maxKL, 1e-9)), height))
	r.Data("lens", l)
	return r, nil
}

// lensTable is the grid of top tokens, each cell shaded by the top token's
// probability on the sequential scale of the heatmaps.
func lensTable(l *circuits.Lens, pos []string, label func(int) string) template.HTML {
	colors := viz.SequentialColors()
	var b strings.Builder
	b.WriteString(`<h3>Top token</h3><table class="mi-lens" style="border-collapse:collapse;margin:0 0 .5em 0;font-size:12px"><tr><th></th>`)
	for _, p := range pos {
		fmt.Fprintf(&b, `<th style="padding:2px 6px;writing-mode:vertical-rl">%s</th>`, html.EscapeString(p))
	}
	b.WriteString("</tr>")
	for i, name := range l.Layers {
		fmt.Fprintf(&b, `<tr><th style="padding:2px 6px">%s</th>`, html.EscapeString(name))
		for _, top := range l.Top[i] {
			p := float64(top[0].Prob)
			k := min(len(colors)-1, int(p*float64(len(colors))))
			fg := "#000"
			if k >= 3 {
				fg = "#fff"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 6px;border:1px solid #ddd;background:%s;color:%s" title="p = %.3f">%s</td>`,
				colors[k], fg, p, html.EscapeString(label(top[0].Token)))
		}
		b.WriteString("</tr>")
	}
	b.WriteString(`</table><p class="mi-legend" style="font-size:13px">Cell shade: the top token's probability, in fifths from 0 (white) to 1 (dark blue), the scale of the heatmaps below; hover a cell for the value.</p>`)
	return template.HTML(b.String())
}
