package report

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/viz"
)

// Heads builds the page of `mechinterp heads`: a role per head (a table, layer x
// head), one heatmap [layer x head] per score (previous token, duplicate token and
// induction detectors, prefix matching, copying), the induction-loss curve per position,
// and every number embedded as JSON (mechinterp.data("heads")). model names the checkpoint
// in the title. The returned report has no mistakes: any is returned as the error.
func Heads(s *probes.HeadScores, model string) (*viz.Report, error) {
	if s == nil || s.Layers == 0 || s.Heads == 0 {
		return nil, errors.New("heads report: no scores")
	}
	for name, z := range map[string][][]float64{"previous_token": s.PreviousToken, "duplicate_token": s.DuplicateToken,
		"induction": s.Induction, "prefix_matching": s.PrefixMatching, "copying": s.Copying} {
		if !isGrid(z, s.Layers, s.Heads) {
			return nil, fmt.Errorf("heads report: %s scores are not %d layers × %d heads", name, s.Layers, s.Heads)
		}
	}
	if len(s.Roles) != s.Layers {
		return nil, fmt.Errorf("heads report: roles for %d layers, want %d", len(s.Roles), s.Layers)
	}
	for _, row := range s.Roles {
		if len(row) != s.Heads {
			return nil, fmt.Errorf("heads report: roles for %d heads, want %d", len(row), s.Heads)
		}
	}
	r := viz.NewReport("Attention heads: " + orDefault(model, "model"))
	o, t := s.Options, s.Options.Thresholds
	prompts := fmt.Sprintf("%d prompts [BOS] + r × %d with |r| = %d random tokens from [%d, %d)",
		o.Repeat.Batch, o.Repeat.Repeats, o.Repeat.Len, o.Repeat.MinToken, o.Repeat.MaxToken)
	det := "the same prompts"
	if o.DetectTokens != nil {
		det = fmt.Sprintf("%d prompts of %d tokens given on the command line", o.DetectBatch, len(o.DetectTokens)/max(o.DetectBatch, 1))
	}
	r.Section("", fmt.Sprintf("%d layers × %d heads. Prefix matching, copying and induction loss are measured on %s "+
		"(Olsson et al. 2022); the three TransformerLens detectors on %s (BOS excluded: %v, diagonal excluded: %v). "+
		"A head's role is the first of these that reaches its threshold: induction (prefix matching ≥ %g), previous token (≥ %g), "+
		"duplicate token (≥ %g), copying (≥ %g); else none. Every number is embedded in this page as JSON (mechinterp.data(\"heads\")).",
		s.Layers, s.Heads, prompts, det, o.Detect.ExcludeBOS, o.Detect.ExcludeDiagonal,
		t.PrefixMatching, t.PreviousToken, t.DuplicateToken, t.Copying))

	r.Section("Roles", rolesSummary(s))
	r.Raw(rolesTable(s))

	heads, layers := headNames(s.Heads), layerNames(s.Layers)
	grid := func(title, caption string, z [][]float64) *viz.Chart {
		return viz.Heatmap(viz.Spec{Title: title, X: "head", Y: "layer", Caption: caption}, heads, layers, z,
			viz.ColorRange(0, 1), viz.ShowValuesFixed(3), viz.Height(120+40*s.Layers))
	}
	r.Section("Scores", "Each cell is one head; 0 is white, 1 darkest.")
	r.Add(
		grid("Prefix matching", "Attention from each token of a repeat to the token after its earlier occurrence: near 1 for induction heads (Olsson et al. 2022).", s.PrefixMatching),
		grid("Copying", "Share of the logits a head raises that fall on the token it attends to: near 1 for heads that copy, about 2/d_vocab at random. "+
			"Measured on the prompts; not the circuits page's OV eigenvalue copying score, which reads the weights alone and is near +1 for any head whose OV circuit copies, so the two can differ.", s.Copying),
		grid("Previous-token detector", "Share of attention on the previous token (TransformerLens head detector).", s.PreviousToken),
		grid("Duplicate-token detector", "Share of attention on earlier occurrences of the same token.", s.DuplicateToken),
		grid("Induction detector", "Share of attention on the token after an earlier occurrence of the same token, over the whole prompt.", s.Induction),
	)
	if il := s.InductionLoss; il != nil && len(il.PerPosition) > 0 {
		x := make([]float64, len(il.PerPosition))
		for i := range x {
			x[i] = float64(i)
		}
		start := float64(il.Len)
		if il.BOS {
			start++
		}
		r.Section("Induction loss", fmt.Sprintf("Loss on the repeats (skipping the first token of the second copy): %.3f; on the first copy: %.3f. "+
			"A model that copies in context predicts the second copy far better than the first.", il.Loss, il.FirstCopy))
		r.Add(viz.Lines(viz.Spec{Title: "Loss per position on repeated random tokens", X: "position", Y: "loss (nats)",
			Caption: "Mean loss predicting the next token at each position; the dashed line marks where the second copy starts."},
			[]viz.Series{{Name: "loss", X: x, Y: il.PerPosition}}, viz.VLine(start-1, "second copy"), viz.HLine(il.FirstCopy, "first copy")))
	}
	r.Data("heads", jsonFinite(s))
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("heads report: %w", err)
	}
	return r, nil
}

// jsonFinite returns s with the non-finite induction losses (too short prompts) dropped,
// since JSON cannot hold them.
func jsonFinite(s *probes.HeadScores) *probes.HeadScores {
	il := s.InductionLoss
	if il == nil || (finite(il.Loss) && finite(il.FirstCopy)) {
		return s
	}
	c := *s
	cl := *il
	if !finite(cl.Loss) {
		cl.Loss = 0
	}
	if !finite(cl.FirstCopy) {
		cl.FirstCopy = 0
	}
	c.InductionLoss = &cl
	return &c
}

func isGrid[T any](z [][]T, rows, cols int) bool {
	if len(z) != rows {
		return false
	}
	for _, r := range z {
		if len(r) != cols {
			return false
		}
	}
	return true
}

func headNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("H%d", i)
	}
	return out
}

func layerNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("L%d", i)
	}
	return out
}

// rolesSummary lists the heads that have a role, with the score that gave it.
func rolesSummary(s *probes.HeadScores) string {
	var lines []string
	for l := range s.Roles {
		for h, role := range s.Roles[l] {
			var v float64
			switch role {
			case probes.RoleInduction:
				v = s.PrefixMatching[l][h]
			case probes.RolePreviousToken:
				v = s.PreviousToken[l][h]
			case probes.RoleDuplicateToken:
				v = s.DuplicateToken[l][h]
			case probes.RoleCopying:
				v = s.Copying[l][h]
			default:
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: %s (%.3f)", models.Head{Layer: l, Head: h}, strings.ReplaceAll(role, "_", " "), v))
		}
	}
	if len(lines) == 0 {
		return "No head reaches a threshold."
	}
	return strings.Join(lines, "\n\n")
}

// rolesTable is the roles as an HTML table, layer rows by head columns.
func rolesTable(s *probes.HeadScores) template.HTML {
	var b strings.Builder
	b.WriteString(`<table class="mi-roles" style="border-collapse:collapse;margin:0 0 1em 0"><tr><th></th>`)
	for h := range s.Heads {
		fmt.Fprintf(&b, `<th style="padding:2px 8px">H%d</th>`, h)
	}
	b.WriteString("</tr>")
	for l, row := range s.Roles {
		fmt.Fprintf(&b, `<tr><th style="padding:2px 8px">L%d</th>`, l)
		for _, role := range row {
			fmt.Fprintf(&b, `<td style="padding:2px 8px;border:1px solid #ddd">%s</td>`, html.EscapeString(strings.ReplaceAll(role, "_", " ")))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return template.HTML(b.String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
