package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/internal/stats"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/viz"
)

// maxCurvePoints bounds the points of every training curve drawn, so pages stay small; the
// full curves are in the page's embedded results.
const maxCurvePoints = 300

// Superposition builds the HTML report of one `mechinterp superposition` experiment:
// the charts of docs/superposition.md for that experiment, each with a title, axis names and
// a caption, and the whole result embedded as JSON (mechinterp.data("results") in the page).
// It dispatches on res.Experiment, falling back to whichever result field is set.
// The returned report has no mistakes: any is returned as the error.
func Superposition(res *superposition.ExperimentResult) (*viz.Report, error) {
	if res == nil {
		return nil, errors.New("superposition report: nil result")
	}
	title := "Superposition: " + res.Experiment
	if res.Experiment == "" {
		title = "Superposition experiment"
	}
	r := viz.NewReport(title)
	var intro string
	if d := res.Description; d != "" {
		intro = strings.ToUpper(d[:1]) + d[1:] + ".\n\n"
	}
	intro += "Model " + orDefault(string(res.Config.Model), "relu_output")
	if res.Config.Features > 0 && res.Phases == nil {
		intro += fmt.Sprintf(", %d features into %d hidden dimensions", res.Config.Features, res.Config.Hidden)
	}
	intro += fmt.Sprintf(", %d steps at batch %d, best of %d seed(s) per setting. "+
		"Every number drawn here, and more, is embedded in this page as JSON (mechinterp.data(\"results\")) and in results.json beside it; "+
		"docs/superposition.md explains each chart.", res.Config.Steps, res.Config.Batch, max(res.Config.Seeds, 1))
	r.Section("", intro)

	var err error
	switch {
	case res.Sweep != nil:
		err = sweepReport(r, res.Sweep)
	case res.Phases != nil:
		err = phaseReport(r, res.Phases)
	case res.SAE != nil:
		err = saeReport(r, res.SAE)
	case res.Instances != nil:
		err = instancesReport(r, res)
	default:
		err = errors.New("the result holds no instances, sweep, phases or SAE runs")
	}
	if err != nil {
		return nil, fmt.Errorf("superposition report %s: %w", res.Experiment, err)
	}
	embedResults(r, res)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("superposition report %s: %w", res.Experiment, err)
	}
	return r, nil
}

// maxEmbeddedResults caps the results embedded in a page: a paper-scale
// sweep (200 features, 16 densities, W^T W for each) runs to 15 MB, which
// the charts do not need and a browser should not have to parse.
const maxEmbeddedResults = 4 << 20

// embedResults embeds res as mechinterp.data("results"), or, when it is
// larger than maxEmbeddedResults, a note saying where the full results are.
func embedResults(r *viz.Report, res *superposition.ExperimentResult) {
	b, err := json.Marshal(res)
	if err != nil || len(b) <= maxEmbeddedResults {
		r.Data("results", res) // Data reports a marshalling error itself
		return
	}
	r.Data("results", map[string]any{
		"experiment": res.Experiment,
		"omitted": fmt.Sprintf("the full results (%.1f MB) are in results.json beside this page",
			float64(len(b))/(1<<20)),
	})
}

// ---- Instances: linear, relu, neurons, absolute, correlated ----

func instancesReport(r *viz.Report, res *superposition.ExperimentResult) error {
	ins := res.Instances
	if len(ins) == 0 {
		return errors.New("no instances")
	}
	n, m := len(ins[0].W), 0
	if n > 0 {
		m = len(ins[0].W[0])
	}
	if n == 0 || m == 0 {
		return errors.New("instance 0 has an empty W")
	}
	hasNeurons := ins[0].Neurons != nil

	var lines []string
	for _, a := range ins {
		s := fmt.Sprintf("%s: %s, D* = %s, geometry: %s", a.Label, representedText(a, n), g3(a.DStar), orDefault(a.Geometry.Summary, "none"))
		if a.Neurons != nil {
			s += fmt.Sprintf(", %d of %d neurons polysemantic", a.Neurons.Polysemantic, len(a.Neurons.Monosemanticity))
		}
		lines = append(lines, s+".")
	}
	r.Section("Summary", strings.Join(lines, "\n\n")+"\n\n"+representedDefinition)

	// Across sparsity, when the instances differ in density.
	if dens := instanceDensities(ins); distinct(dens) > 1 {
		inv := make([]float64, len(dens))
		for i, p := range dens {
			inv[i] = 1 / p
		}
		if hasNeurons {
			mono, poly := make([]float64, len(ins)), make([]float64, len(ins))
			for i, a := range ins {
				mono[i] = mean(a.Neurons.Monosemanticity)
				// A share, not a count, so that both lines read on one axis from 0 to 1 (a count
				// on a right axis of its own ran to 16 for 10 neurons).
				poly[i] = float64(a.Neurons.Polysemantic) / float64(len(a.Neurons.Monosemanticity))
			}
			r.Section("Across sparsity", "How the neurons change as features become sparse.")
			r.Add(viz.Lines(viz.Spec{Title: "Neuron monosemanticity against sparsity", X: "1/(1-S)", Y: "monosemanticity / share of neurons",
				Caption: "Mean over neurons of max_i |W_ki| / ||W_k|| (1 = every neuron reads one feature) and the share of neurons below 0.9 (polysemantic), both on the whole range 0 to 1: polysemantic neurons appear as 1/(1-S) grows."},
				[]viz.Series{{Name: "mean monosemanticity", X: inv, Y: mono}, {Name: "share of neurons polysemantic", X: inv, Y: poly}},
				viz.LogX(), viz.HLine(0.9, "0.9"), viz.YRange(0, 1)))
		} else {
			ds, rep := make([]float64, len(ins)), make([]float64, len(ins))
			top := float64(n) // the right axis: from none to all features (norms a little over 1 can pass n)
			for i, a := range ins {
				ds[i] = a.DStar
				rep[i] = a.Represented
				if finite(a.Represented) {
					top = max(top, math.Ceil(a.Represented))
				}
			}
			r.Section("Across sparsity", "How much superposition each instance uses, from dense (left) to sparse (right).")
			r.Add(viz.Lines(viz.Spec{Title: "D* and represented features against sparsity", X: "1/(1-S)", Y: "D* (dimensions per feature)",
				Caption: fmt.Sprintf("Left axis: D* = m/||W||_F^2 (1: one feature per dimension, below 1: superposition); right axis: features represented ||W||_F^2 = m/D*, from 0 to all %d features, more than m = %d only in superposition.", n, m)},
				[]viz.Series{{Name: "D*", X: inv, Y: ds}, {Name: "features represented", X: inv, Y: rep, RightAxis: true}},
				viz.LogX(), viz.YRight("features represented"), viz.YRightRange(0, top), viz.HLine(1, "D* = 1"), viz.HLine(0.5, "D* = 1/2")))
		}
	}

	if len(res.SetCosines) == len(ins) && len(res.SetCosines) > 0 && len(res.SetCosines[0]) > 0 {
		sets := res.Config.Correlated
		if len(sets) == 0 {
			sets = res.Config.Anticorrelated
		}
		cats := make([]string, len(ins))
		for i, a := range ins {
			cats[i] = a.Label
		}
		var series []viz.Series
		for s := range res.SetCosines[0] {
			name := fmt.Sprintf("set %d", s)
			if s < len(sets) {
				name = "features " + joinInts(sets[s])
			}
			y := make([]float64, len(ins))
			for i := range ins {
				if s < len(res.SetCosines[i]) {
					y[i] = res.SetCosines[i][s]
				}
			}
			series = append(series, viz.Series{Name: name, Y: y})
		}
		r.Section("Feature sets", "Whether the members of each feature set share, oppose or avoid each other's directions.")
		r.Add(viz.Bars(viz.Spec{Title: "Mean cosine within each feature set", X: "training data", Y: "mean cos(W_i, W_j) in the set",
			Caption: "Near 0: the set's features are orthogonal (correlated features avoid interfering); near -1: antipodal (anticorrelated features are never active together). The axis is a cosine's whole range, -1 to 1."},
			cats, series, viz.HLine(0, "orthogonal"), viz.YRange(-1, 1)))
	}

	// The instances are read side by side: each kind of matrix shares one colour scale.
	var wtws, biases, ws, w2s [][][]float64
	for _, a := range ins {
		wtws, biases, ws, w2s = append(wtws, a.WtW), append(biases, [][]float64{a.B}), append(ws, a.W), append(w2s, a.W2)
	}
	wtwScale, biasScale, wScale, w2Scale := maxAbs(wtws...), maxAbs(biases...), maxAbs(ws...), maxAbs(w2s...)
	// The monosemanticity bars are coloured on one scale of features per neuron, from 1 (a
	// neuron that reads one feature) to the page's largest, as the interference of the norm bars.
	fpnLo, fpn := 1.0, 2.0
	for _, a := range ins {
		for _, ns := range []*superposition.NeuronStats{a.Neurons, a.Neurons2} {
			if ns != nil {
				for _, v := range ns.FeaturesPerNeuron {
					if finite(v) {
						fpnLo, fpn = min(fpnLo, v), max(fpn, v)
					}
				}
			}
		}
	}
	for _, a := range ins {
		r.Section(a.Label, instanceText(a, n))
		if m == 2 {
			r.Add(directionsChart(a.W, "Feature directions, "+a.Label, featureNames(n)))
		}
		if a.Neurons != nil {
			what, long := "W", "W"
			if a.Kind == superposition.AbsValue {
				what, long = "W1", "W1 (input to neurons)"
			}
			r.Add(neuronMatrix(a.W, fmt.Sprintf("Neuron x feature weights %s, %s", long, a.Label), false, wScale),
				monoChart(*a.Neurons, fmt.Sprintf("Neuron monosemanticity (%s), %s", what, a.Label), fpnLo, fpn))
			if a.Neurons2 != nil && len(a.W2) == n {
				r.Add(neuronMatrix(a.W2, "Neuron x feature weights W2 (neurons to outputs), "+a.Label, true, w2Scale),
					monoChart(*a.Neurons2, "Neuron monosemanticity (W2), "+a.Label, fpnLo, fpn))
			}
		}
		if !hasNeurons || n <= 50 {
			r.Add(wtwChart(a, "W^T W, "+a.Label, wtwScale))
		}
		r.Add(biasChart(a.B, "Bias b, "+a.Label, biasScale), normsChart(a, "Feature norms ||W_i||, "+a.Label, interferenceScale(ins...)))
	}

	r.Section("Training", "Loss curves and, from the weight snapshots, how the geometry forms.")
	r.Add(lossChart(ins, func(a superposition.Analysis) string { return a.Label }))
	if c := dstarTrainingChart(ins, func(a superposition.Analysis) string { return a.Label }); c != nil {
		r.Add(c)
	}
	if m == 2 {
		if c := diTrainingChart(ins[len(ins)-1], ins[len(ins)-1].Label); c != nil {
			r.Add(c)
		}
	}
	return nil
}

func instanceText(a superposition.Analysis, n int) string {
	s := fmt.Sprintf("Density 1-S = %s, final held-out loss %s, D* = %s, %s. Geometry: %s.",
		g3(meanOr(a.Density, 0)), g3(a.FinalLoss), g3(a.DStar), representedText(a, n), orDefault(a.Geometry.Summary, "none"))
	if len(a.Angles) > 0 {
		var ang []string
		for _, v := range a.Angles {
			ang = append(ang, strconv.FormatFloat(v, 'f', 0, 64)+"°")
		}
		s += " Angles between adjacent features: " + strings.Join(ang, ", ") + "."
	}
	return s
}

// ---- Sweeps: pentagon, dimensionality ----

func sweepReport(r *viz.Report, sw *superposition.SweepResult) error {
	if len(sw.Points) == 0 {
		return errors.New("sweep has no points")
	}
	n, m := sw.Features, sw.Hidden
	pts := sw.Points
	inv := make([]float64, len(pts))
	ds := make([]float64, len(pts))
	rep := make([]float64, len(pts))
	ind := make([]float64, len(pts))
	vul := make([]float64, len(pts))
	labels := make([]string, len(pts))
	var lines []string
	for j, p := range pts {
		inv[j], ds[j], rep[j], ind[j], vul[j] = p.InvDensity, p.Best.DStar, p.Best.Represented, float64(p.Best.Individual), p.MeanVulnerability
		labels[j] = "1-S = " + g3(p.Density)
		lines = append(lines, fmt.Sprintf("1-S = %s: %s, D* = %s, geometry: %s.",
			g3(p.Density), representedText(p.Best, n), g3(p.Best.DStar), orDefault(p.Best.Geometry.Summary, "none")))
	}
	r.Section("Summary", strings.Join(lines, "\n\n")+"\n\n"+representedDefinition)

	r.Section("Dimensionality", "D* is the number of dimensions per represented feature; D_i is the fraction of a dimension feature i gets. Both stick at the fractions of regular structures.")
	r.Add(viz.Lines(viz.Spec{Title: "D* against 1/(1-S)", X: "1/(1-S) (log scale)", Y: "D* = m / ||W||_F^2",
		Caption: "Each point is the best seed at one density: D* starts at 1 (one feature per dimension) when dense and falls to a plateau at 1/2 (antipodal pairs) and below as features become sparse."},
		[]viz.Series{{Name: "D*", X: inv, Y: ds, Labels: labels}}, viz.LogX(), viz.HLine(1, "1"), viz.HLine(0.5, "1/2")))

	var dx, dy []float64
	var dl []string
	for j, p := range pts {
		for i, d := range p.Best.Dimensionality {
			dx, dy = append(dx, inv[j]), append(dy, d)
			dl = append(dl, fmt.Sprintf("feature %d at 1-S = %s", i, g3(p.Density)))
		}
	}
	stickyOpts := []viz.Option{viz.LogX()}
	for _, s := range superposition.StickyFractions {
		stickyOpts = append(stickyOpts, viz.HLine(s.Value, fraction(s.Value)+" "+s.Name))
	}
	r.Add(viz.Scatter(viz.Spec{Title: "Feature dimensionality D_i against 1/(1-S)", X: "1/(1-S) (log scale)", Y: "D_i",
		Caption: "Each small dot is one feature's D_i at one density, the other series is D*; dots cluster on the dashed sticky fractions: 1 dedicated, 3/4 tetrahedron, 2/3 triangle, 1/2 antipodal pair, 2/5 pentagon, 3/8 square antiprism, 0 dropped."},
		[]viz.Series{{Name: "D_i", X: dx, Y: dy, Labels: dl}, {Name: "D*", X: inv, Y: ds, Labels: labels}}, append(stickyOpts, viz.Height(520))...))

	r.Add(viz.Lines(viz.Spec{Title: "Features represented against 1/(1-S)", X: "1/(1-S) (log scale)", Y: "features",
		Caption: fmt.Sprintf("Represented = ||W||_F^2 = m/D*; individually = features with ||W_i|| >= 0.5. Dense, the model spreads its m dimensions over all features, so few or none stand alone though m are represented; above the dashed line at m = %d it represents more features than it has dimensions: superposition.", m)},
		[]viz.Series{{Name: "represented ||W||_F^2", X: inv, Y: rep, Labels: labels}, {Name: "individually (||W_i|| >= 0.5)", X: inv, Y: ind, Labels: labels}},
		viz.LogX(), viz.HLine(float64(m), "m")))
	r.Add(viz.Scatter(viz.Spec{Title: "Adversarial vulnerability against D*", X: "D*", Y: "mean vulnerability 1/sqrt(D_i)",
		Caption: "Each point is one density: the less room per feature (smaller D*), the larger the worst-case effect of a unit input perturbation on represented features; 1 means no superposition."},
		[]viz.Series{{Name: "densities", X: ds, Y: vul, Labels: labels}}, viz.HLine(1, "no superposition")))

	if sw.Seeds > 1 {
		var sx, sy, bx, by []float64
		for j, p := range pts {
			best := math.Inf(1)
			for _, l := range p.SeedLosses {
				sx, sy = append(sx, inv[j]), append(sy, l)
				best = math.Min(best, l)
			}
			bx, by = append(bx, inv[j]), append(by, best)
		}
		r.Add(viz.Scatter(viz.Spec{Title: "Held-out loss of every seed", X: "1/(1-S) (log scale)", Y: "final loss",
			Caption: fmt.Sprintf("Each dot is one of %d seeds at a density; the lowest (kept) is the second series — seeds that missed the best geometry sit above it.", sw.Seeds)},
			[]viz.Series{{Name: "every seed", X: sx, Y: sy}, {Name: "best seed (kept)", X: bx, Y: by}}, viz.LogX(), viz.LogY()))
	}

	if m == 2 || n <= 50 {
		r.Section("Geometry at each density", "The best seed's weights at each density.")
		var wtws [][][]float64
		for _, p := range pts {
			wtws = append(wtws, p.Best.WtW)
		}
		wtwScale := maxAbs(wtws...)
		var bests []superposition.Analysis
		for _, p := range pts {
			bests = append(bests, p.Best)
		}
		iScale := interferenceScale(bests...)
		for _, p := range pts {
			label := "1-S = " + g3(p.Density)
			if m == 2 {
				r.Add(directionsChart(p.Best.W, fmt.Sprintf("Feature directions, %s (%s)", label, orDefault(p.Best.Geometry.Summary, "none")), featureNames(n)))
			} else {
				r.Add(wtwChart(p.Best, "W^T W, "+label, wtwScale))
			}
			r.Add(normsChart(p.Best, "Feature norms ||W_i||, "+label, iScale))
		}
	}

	bests := make([]superposition.Analysis, len(pts))
	for j, p := range pts {
		bests[j] = p.Best
		bests[j].Label = "1-S = " + g3(p.Density)
	}
	r.Section("Training", "Loss curves of the kept seeds and, from the weight snapshots, how the geometry forms.")
	r.Add(lossChart(bests, func(a superposition.Analysis) string { return a.Label }))
	if c := dstarTrainingChart(bests, func(a superposition.Analysis) string { return a.Label }); c != nil {
		r.Add(c)
	}
	if m == 2 {
		// The density with the most represented features, the sparsest on ties: where the
		// pentagon forms.
		k := 0
		for j, p := range pts {
			if p.Best.Individual > pts[k].Best.Individual || (p.Best.Individual == pts[k].Best.Individual && p.Density < pts[k].Density) {
				k = j
			}
		}
		if c := diTrainingChart(bests[k], bests[k].Label); c != nil {
			r.Add(c)
		}
	}
	return nil
}

// ---- Phase diagrams ----

func phaseReport(r *viz.Report, phases []*superposition.PhaseResult) error {
	if len(phases) == 0 {
		return errors.New("no phase diagrams")
	}
	r.Section("How to read the phase diagrams",
		"All features have importance 1 except the last, the extra feature, whose relative importance runs along the x axis; all share the density 1-S, which falls down the rows. "+
			"Each cell is the best of several seeds. The extra feature is not represented when ||W_extra|| < 0.5, has a dedicated dimension when its interference is below 0.2, and is in superposition otherwise. "+
			"Under each measured diagram is the theoretical one of Elhage et al. 2022: the exact expected loss of the paper's natural configurations (2 -> 1: W = [1,0], [0,1], [1,-1]; 3 -> 2: W ignoring [0,0,1], [1,0,0], [0,1,1] or [1,1,0]), unit-norm columns and optimal biases; a cell agrees when the measured phase is the phase of the cheapest configuration.")
	// The norm and interference charts of every diagram share one scale each, from 0 to the
	// largest value (at least 1, the norm of a represented feature), so that colours compare
	// across the 2 -> 1 and 3 -> 2 diagrams and read as the captions say.
	normHi, interfHi := 1.0, 1.0
	for _, ph := range phases {
		if ph == nil || len(ph.Densities) == 0 || len(ph.Importances) == 0 {
			return errors.New("empty phase diagram")
		}
		for _, row := range ph.ExtraNorm {
			for _, v := range row {
				if finite(v) {
					normHi = max(normHi, v)
				}
			}
		}
		for _, row := range ph.ExtraInterference {
			for _, v := range row {
				if finite(v) {
					interfHi = max(interfHi, v)
				}
			}
		}
	}
	for _, ph := range phases {
		if len(ph.PhaseCode) != len(ph.Densities) {
			return fmt.Errorf("phase diagram %d -> %d: %d rows of phases for %d densities", ph.Features, ph.Hidden, len(ph.PhaseCode), len(ph.Densities))
		}
		shape := fmt.Sprintf("%d features in %d dimension", ph.Features, ph.Hidden)
		if ph.Hidden != 1 {
			shape += "s"
		}
		x := make([]string, len(ph.Importances))
		for j, v := range ph.Importances {
			x[j] = g3(v)
		}
		y := make([]string, len(ph.Densities))
		for i, v := range ph.Densities {
			y[i] = g3(v)
		}
		codes := make([][]float64, len(ph.PhaseCode))
		counts := map[int]int{}
		for i, row := range ph.PhaseCode {
			codes[i] = make([]float64, len(row))
			for j, c := range row {
				codes[i][j] = float64(c)
				counts[c]++
			}
		}
		text := fmt.Sprintf("%d cells not represented, %d with a dedicated dimension, %d in superposition.", counts[0], counts[1], counts[2])
		if len(ph.TheoryCode) == len(ph.Densities) {
			text += "\n\n" + theoryText(ph)
		}
		r.Section("Phase diagram: "+shape, text)
		r.Add(viz.Heatmap(viz.Spec{Title: "Phase of the extra feature, " + shape, X: "relative importance of the extra feature", Y: "density 1-S",
			Caption: "Measured: colour is the phase (legend): white not represented, mid blue a dedicated dimension, dark blue superposition; superposition takes over as density falls (lower rows)."},
			x, y, codes, phaseCategories))
		if len(ph.TheoryCode) == len(ph.Densities) {
			theory := make([][]float64, len(ph.TheoryCode))
			for i, row := range ph.TheoryCode {
				theory[i] = make([]float64, len(row))
				for j, c := range row {
					theory[i][j] = float64(c)
				}
			}
			r.Add(viz.Heatmap(viz.Spec{Title: "Phase the theory predicts, " + shape, X: "relative importance of the extra feature", Y: "density 1-S",
				Caption: "The paper's toy model of the toy model: the phase of the cheapest natural configuration, same colours as the measured diagram above. Where configurations tie (importance 1, dense) the first is drawn and either counts as agreeing."},
				x, y, theory, phaseCategories))
		}
		r.Add(viz.Heatmap(viz.Spec{Title: "Norm ||W_extra|| of the extra feature, " + shape, X: "relative importance of the extra feature", Y: "density 1-S",
			Caption: "Dark: the extra feature is represented (norm near 1); pale: dropped (norm near 0). One scale for the norm diagrams of this page."},
			x, y, ph.ExtraNorm, viz.ColorRange(0, normHi)))
		r.Add(viz.Heatmap(viz.Spec{Title: "Interference of the extra feature, " + shape, X: "relative importance of the extra feature", Y: "density 1-S",
			Caption: "sum_j (Ŵ_extra · W_j)^2: pale means it has a direction of its own, dark that it shares one with other features (superposition). " +
				"Where the feature is not represented (white in the phase diagram) its tiny column still has a direction, so the colour there says nothing. One scale for the interference diagrams of this page."},
			x, y, ph.ExtraInterference, viz.ColorRange(0, interfHi)))
	}
	return nil
}

// phaseCategories names the phase codes of superposition.PhaseResult (0, 1, 2) in the legend of
// the phase diagrams.
var phaseCategories = viz.Categories("not represented", "dedicated dimension", "superposition")

// deadDefinition says over which window dead features and densities are
// counted.
func deadDefinition(window int) string {
	return fmt.Sprintf("A feature is dead when it fired on none of the last %d training samples (SAELens's dead-feature window); the feature densities are counted over the same samples. L0 and variance explained are measured after training on the evaluation rows.", window)
}

// theoryText says how many cells of a phase diagram agree with the
// theoretical model, and which do not.
func theoryText(ph *superposition.PhaseResult) string {
	cells := len(ph.Densities) * len(ph.Importances)
	s := fmt.Sprintf("Agreement with the paper's theoretical phase boundaries: %d of %d cells (%.0f%%).", ph.Matches, cells, 100*ph.Agreement)
	var off []string
	for a := range ph.Densities {
		for b := range ph.Importances {
			if a < len(ph.Phase) && b < len(ph.Phase[a]) && !slices.Contains(strings.Split(ph.Theory[a][b], superposition.TheoryTie), ph.Phase[a][b]) {
				off = append(off, fmt.Sprintf("1-S = %s, importance %s: measured %s, theory %s", g3(ph.Densities[a]), g3(ph.Importances[b]), ph.Phase[a][b], ph.Theory[a][b]))
			}
		}
	}
	if len(off) > 0 {
		s += " Disagreeing: " + strings.Join(off, "; ") + "."
	}
	return s
}

// ---- Sparse autoencoders ----

func saeReport(r *viz.Report, ex *superposition.SAEExperiment) error {
	if len(ex.Runs) == 0 {
		return errors.New("no SAE runs")
	}
	toy := ex.Toy
	n := len(toy.W)
	if n == 0 || len(toy.W[0]) == 0 {
		return errors.New("the toy model has an empty W")
	}
	m := len(toy.W[0])
	var trueL0 float64
	for i, nv := range toy.Norms {
		if nv >= 0.5 && i < len(toy.Density) {
			trueL0 += toy.Density[i]
		}
	}
	r.Section("The toy model", fmt.Sprintf("The SAEs are trained on the %d-dimensional hidden activations of this toy model (%d features, density %s, loss %s, geometry: %s). "+
		"Its %d represented feature directions W_i are the ground truth the dictionaries should recover; on average %s of them are active per input.",
		m, n, g3(meanOr(toy.Density, 0)), g3(toy.FinalLoss), orDefault(toy.Geometry.Summary, "none"), len(ex.TrueFeatures), g3(trueL0)))
	r.Add(wtwChart(toy, "W^T W of the toy model", maxAbs(toy.WtW)), normsChart(toy, "Feature norms ||W_i|| of the toy model", interferenceScale(toy)))

	// Runs grouped by dictionary size, each sorted by L1.
	bySize := map[int][]sae.Result{}
	var sizes []int
	l1set := map[float64]bool{}
	for _, run := range ex.Runs {
		f := run.Config.DictSize
		if _, ok := bySize[f]; !ok {
			sizes = append(sizes, f)
		}
		bySize[f] = append(bySize[f], run)
		l1set[run.Config.L1] = true
	}
	sort.Ints(sizes)
	var l1s []float64
	for l := range l1set {
		l1s = append(l1s, l)
	}
	sort.Float64s(l1s)
	for _, f := range sizes {
		sort.Slice(bySize[f], func(a, b int) bool { return bySize[f][a].Config.L1 < bySize[f][b].Config.L1 })
	}
	perSize := func(val func(sae.Result) float64) []viz.Series {
		var out []viz.Series
		for _, f := range sizes {
			s := viz.Series{Name: fmt.Sprintf("F = %d", f)}
			for _, run := range bySize[f] {
				s.X, s.Y = append(s.X, run.Config.L1), append(s.Y, val(run))
			}
			out = append(out, s)
		}
		return out
	}
	best := ex.Runs[0]
	var lines []string
	for _, f := range sizes {
		for _, run := range bySize[f] {
			if run.MMCS > best.MMCS {
				best = run
			}
			// Fixed decimals: variance explained near 1 needs four ("1" hid 0.9998), and
			// the same digits for every run keep the column comparable.
			lines = append(lines, fmt.Sprintf("F = %d, λ = %s: L0 %.3f, variance explained %.4f, %d dead, MMCS %.3f.",
				f, g3(run.Config.L1), run.L0, run.FVE, run.Dead, run.MMCS))
		}
	}
	r.Section("SAE metrics", "One SAE per dictionary size F and L1 coefficient λ. "+deadDefinition(ex.Runs[0].Config.DeadWindow)+"\n\n"+strings.Join(lines, "\n\n"))
	var mmcs, fve []float64
	for _, run := range ex.Runs {
		mmcs, fve = append(mmcs, run.MMCS), append(fve, run.FVE)
	}
	r.Add(viz.Lines(viz.Spec{Title: "MMCS against the L1 coefficient", X: "L1 coefficient λ (log scale)", Y: "MMCS",
		Caption: "Mean over true features of the best cosine with any dictionary atom: 1 means every true feature has an exactly aligned atom; above the dashed 0.95 the features are recovered. The axis ends at 1, the most a cosine can be."},
		perSize(func(s sae.Result) float64 { return s.MMCS }), viz.LogX(), viz.HLine(0.95, "0.95"), upToOne(mmcs, 0.95)))
	r.Add(viz.Lines(viz.Spec{Title: "L0 against the L1 coefficient", X: "L1 coefficient λ (log scale)", Y: "L0 (mean active features)",
		Caption: "Mean number of dictionary features active per input: it falls as λ grows; the dashed line is the toy model's true mean number of active features."},
		perSize(func(s sae.Result) float64 { return s.L0 }), viz.LogX(), viz.HLine(trueL0, "true")))
	r.Add(viz.Lines(viz.Spec{Title: "Variance explained against the L1 coefficient", X: "L1 coefficient λ (log scale)", Y: "fraction of variance explained",
		Caption: "1 - SSE/SST of the reconstruction: near 1 the SAE reconstructs the activations; it falls when λ is so large that the code is too sparse. The axis ends at 1, the most it can be."},
		perSize(func(s sae.Result) float64 { return s.FVE }), viz.LogX(), viz.HLine(1, "1"), upToOne(fve, 1)))
	r.Add(viz.Lines(viz.Spec{Title: "Dead features against the L1 coefficient", X: "L1 coefficient λ (log scale)", Y: "dead features",
		Caption: "Dictionary features that fired on none of the last training samples (the window above; the 'never' bar of the density histograms): a large λ or an oversized dictionary kills features."},
		perSize(func(s sae.Result) float64 { return float64(s.Dead) }), viz.LogX()))
	var fr []viz.Series
	for _, f := range sizes {
		s := viz.Series{Name: fmt.Sprintf("F = %d", f)}
		for _, run := range bySize[f] {
			s.X, s.Y = append(s.X, run.L0), append(s.Y, run.FVE)
			s.Labels = append(s.Labels, fmt.Sprintf("F = %d, λ = %s", f, g3(run.Config.L1)))
		}
		fr = append(fr, s)
	}
	r.Add(viz.Scatter(viz.Spec{Title: "Sparsity against reconstruction", X: "L0 (mean active features)", Y: "fraction of variance explained",
		Caption: "Each point is one SAE: the best sit top left (few active features, good reconstruction); hover for F and λ. The y axis ends at 1, the most variance explained can be."}, fr, upToOne(fve)))
	var bySizeSeries []viz.Series
	for _, l := range l1s {
		s := viz.Series{Name: "λ = " + g3(l)}
		for _, f := range sizes {
			for _, run := range bySize[f] {
				if run.Config.L1 == l {
					s.X, s.Y = append(s.X, float64(f)), append(s.Y, run.MMCS)
				}
			}
		}
		bySizeSeries = append(bySizeSeries, s)
	}
	r.Add(viz.Lines(viz.Spec{Title: "MMCS against dictionary size", X: "dictionary size F (log scale)", Y: "MMCS",
		Caption: fmt.Sprintf("One line per λ: a dictionary needs at least as many atoms as true features (%d) to reach an MMCS near 1, where the axis ends.", len(ex.TrueFeatures))},
		bySizeSeries, viz.LogX(), viz.HLine(0.95, "0.95"), upToOne(mmcs, 0.95)))

	r.Section("Feature density", "How often each dictionary feature fires, on a log scale (Bricken et al. 2023), counted over the same last training samples as dead features, so the 'never' bar holds exactly the dead ones.")
	for _, f := range sizes {
		h0 := bySize[f][0].Histogram
		if len(h0.Counts) == 0 || len(h0.Edges) != len(h0.Counts)+1 {
			return fmt.Errorf("SAE F=%d: histogram with %d counts and %d edges", f, len(h0.Counts), len(h0.Edges))
		}
		cats := []string{"never"}
		for b := range h0.Counts {
			cats = append(cats, fmt.Sprintf("%.1f", h0.Edges[b]))
		}
		var series []viz.Series
		for _, run := range bySize[f] {
			y := []float64{float64(run.Histogram.Never)}
			for b := range h0.Counts {
				c := 0
				if b < len(run.Histogram.Counts) {
					c = run.Histogram.Counts[b]
				}
				y = append(y, float64(c))
			}
			series = append(series, viz.Series{Name: "λ = " + g3(run.Config.L1), Y: y})
		}
		r.Add(viz.Bars(viz.Spec{Title: fmt.Sprintf("Feature-density histogram, F = %d", f), X: "log10 of firing frequency (bin start)", Y: "dictionary features",
			Caption: "Bars count dictionary features by how often they fire over the dead window (log10 bins; 'never' = the dead features); a healthy SAE has no mass at 'never' and a bump near the true feature density."},
			cats, series))
	}

	r.Section("Best SAE", fmt.Sprintf("The SAE with the highest MMCS: F = %d, λ = %s, MMCS %.3f.", best.Config.DictSize, g3(best.Config.L1), best.MMCS))
	if len(best.BestCos) > 0 {
		cats := make([]string, len(best.BestCos))
		for g := range cats {
			cats[g] = "true " + strconv.Itoa(g)
		}
		r.Add(viz.Bars(viz.Spec{Title: "Best cosine per true feature", X: "true feature direction", Y: "max cosine with an atom",
			Caption: "For each true feature direction, the cosine of the closest dictionary atom: 1 is an exact recovery; MMCS is their mean."},
			cats, []viz.Series{{Name: "best cosine", Y: best.BestCos}}, viz.HLine(0.95, "0.95")))
	}
	var ls []viz.Series
	for _, f := range sizes {
		for _, run := range bySize[f] {
			x, y := curve(run.LossSteps, run.Loss)
			ls = append(ls, viz.Series{Name: fmt.Sprintf("F = %d, λ = %s", f, g3(run.Config.L1)), X: x, Y: y})
		}
	}
	r.Add(viz.Lines(viz.Spec{Title: "SAE training loss", X: "step", Y: "loss = MSE + λ L1 (log scale)",
		Caption: "One line per SAE: batch-mean loss over training; lines should flatten by the end, otherwise train longer."}, ls, viz.LogY()))

	r.Section("Toy model training", "")
	r.Add(lossChart([]superposition.Analysis{toy}, func(a superposition.Analysis) string { return orDefault(a.Label, "toy") }))
	if c := dstarTrainingChart([]superposition.Analysis{toy}, func(a superposition.Analysis) string { return orDefault(a.Label, "toy") }); c != nil {
		r.Add(c)
	}
	return nil
}

// ---- Charts shared by the reports ----

// maxAbs is the largest magnitude in the matrices (1 when there is none), the bound of a
// signed colour scale they share.
func maxAbs(zs ...[][]float64) float64 {
	m := 0.0
	for _, z := range zs {
		for _, row := range z {
			for _, v := range row {
				if finite(v) {
					m = max(m, math.Abs(v))
				}
			}
		}
	}
	if m == 0 {
		return 1
	}
	return m
}

// wtwChart draws W^T W on the signed colour scale [-scale, scale].
func wtwChart(a superposition.Analysis, title string, scale float64) *viz.Chart {
	n := len(a.WtW)
	opts := []viz.Option{viz.Diverging(), viz.ColorRange(-scale, scale)}
	if n <= 8 {
		opts = append(opts, viz.ShowValuesFixed(2))
	}
	if n > 20 {
		opts = append(opts, viz.Height(min(900, 300+12*n)))
	}
	return viz.Heatmap(viz.Spec{Title: title, X: "feature j", Y: "feature i",
		Caption: "Cell (i, j) is W_i · W_j: the diagonal is ||W_i||^2; red off the diagonal = two features share a direction, blue = opposite (antipodal), white = orthogonal."},
		featureNames(n), featureNames(n), a.WtW, opts...)
}

func biasChart(b []float64, title string, scale float64) *viz.Chart {
	return viz.Heatmap(viz.Spec{Title: title, X: "feature i", Y: "bias",
		Caption: "Output bias b_i: blue (negative) biases cancel the small interference of features in superposition; near white when a feature has its own dimension or is dropped."},
		featureNames(len(b)), []string{"b_i"}, [][]float64{b}, viz.Diverging(), viz.ColorRange(-scale, scale), viz.Height(170))
}

// normsChart draws ||W_i|| coloured by interference on the fixed scale [0, scale], shared by
// the charts of one page (interferenceScale).
func normsChart(a superposition.Analysis, title string, scale float64) *viz.Chart {
	return viz.Bars(viz.Spec{Title: title, X: "feature i (most important first)", Y: "||W_i||",
		Caption: fmt.Sprintf("Bar height: how strongly feature i is represented (1 fully, 0 dropped); colour: its interference sum_j (Ŵ_i·W_j)^2 on a scale from 0 (dark purple, a dimension of its own) to %s (yellow), the same on every norm chart of this page: an antipodal pair is 1, a pentagon 1.5 or more.", g3(scale))},
		featureNames(len(a.Norms)), []viz.Series{{Name: "||W_i||", Y: a.Norms}}, viz.ColorBy("interference", a.Interference), viz.ColorRange(0, scale), viz.HLine(1, "1"))
}

// interferenceScale is the top of the interference colour scale shared by the norm charts of
// as: their largest interference, and at least 1 (an antipodal pair), so that the colours are
// absolute, not stretched over a chart's own range.
func interferenceScale(as ...superposition.Analysis) float64 {
	top := 1.0
	for _, a := range as {
		for _, v := range a.Interference {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = math.Max(top, v)
			}
		}
	}
	return top
}

func directionsChart(W [][]float64, title string, names []string) *viz.Chart {
	x, y := make([]float64, len(W)), make([]float64, len(W))
	for i, w := range W {
		x[i], y[i] = w[0], w[1]
	}
	return viz.Scatter(viz.Spec{Title: title, X: "hidden dimension 0", Y: "hidden dimension 1",
		Caption: "Each point is a column W_i, drawn as a line from the origin: equal-length spokes at equal angles form a regular shape (two opposite spokes: an antipodal pair; five at 72°: a pentagon); a point at the origin is a dropped feature."},
		[]viz.Series{{Name: "W_i", X: x, Y: y, Labels: names}}, viz.EqualAxes(), viz.FromOrigin(), viz.Height(460))
}

// neuronMatrix draws W as neurons x features. W is feature-major ([n][m]) for both W (W1) and
// W2 (W2[i] is W2's row i), so neuron k's weights are W[i][k] in both.
func neuronMatrix(W [][]float64, title string, readout bool, scale float64) *viz.Chart {
	n, m := len(W), len(W[0])
	z := make([][]float64, m)
	for k := range z {
		z[k] = make([]float64, n)
		for i := range W {
			z[k][i] = W[i][k]
		}
	}
	caption := "Row k is what neuron k reads from each feature: one strong cell in a row is a monosemantic neuron, several strong cells (red positive, blue negative) a polysemantic one."
	if readout {
		caption = "Row k is what neuron k writes to each output feature: one strong cell in a row is a monosemantic neuron, several strong cells (red positive, blue negative) a polysemantic one."
	}
	return viz.Heatmap(viz.Spec{Title: title, X: "feature i", Y: "neuron k", Caption: caption},
		featureNames(n), neuronNames(m), z, viz.Diverging(), viz.ColorRange(-scale, scale), viz.Height(min(700, max(260, 140+28*m))))
}

// monoChart draws each neuron's monosemanticity on its whole range [0, 1], coloured by the
// features it reads on the fixed scale [lo, hi] (lo 1, a neuron that reads one feature) shared
// by the page's monosemanticity charts.
func monoChart(ns superposition.NeuronStats, title string, lo, hi float64) *viz.Chart {
	return viz.Bars(viz.Spec{Title: title, X: "neuron k", Y: "monosemanticity",
		Caption: fmt.Sprintf("Bar height: max_i |W_ki| / ||W_k|| (1: the neuron reads one feature; below 0.9 it counts as polysemantic), on its whole range 0 to 1; colour: the effective number of features it reads, from %s (dark purple) to %s (yellow), the same on every monosemanticity chart of this page.", g3(lo), g3(hi))},
		neuronNames(len(ns.Monosemanticity)), []viz.Series{{Name: "monosemanticity", Y: ns.Monosemanticity}},
		viz.ColorBy("features per neuron", ns.FeaturesPerNeuron), viz.ColorRange(lo, hi), viz.HLine(0.9, "0.9"), viz.YRange(0, 1))
}

func lossChart(ins []superposition.Analysis, name func(superposition.Analysis) string) *viz.Chart {
	var s []viz.Series
	for _, a := range ins {
		x, y := curve(a.LossSteps, a.Loss)
		s = append(s, viz.Series{Name: name(a), X: x, Y: y})
	}
	return viz.Lines(viz.Spec{Title: "Training loss", X: "step", Y: "loss (importance-weighted MSE, log scale)",
		Caption: "One line per instance, the batch-mean loss over training: sparser data has a lower floor; a line still falling at the end wants more steps."},
		s, viz.LogY())
}

// dstarTrainingChart draws D* over training from the snapshots, or returns nil when there are
// too few to show a trend.
func dstarTrainingChart(ins []superposition.Analysis, name func(superposition.Analysis) string) *viz.Chart {
	var s []viz.Series
	for _, a := range ins {
		var x, y []float64
		for _, sn := range a.Snapshots {
			if sn.Step > 0 {
				x, y = append(x, float64(sn.Step)), append(y, sn.DStar)
			}
		}
		if len(x) >= 2 {
			s = append(s, viz.Series{Name: name(a), X: x, Y: y})
		}
	}
	if len(s) == 0 {
		return nil
	}
	return viz.Lines(viz.Spec{Title: "D* over training", X: "step (log scale)", Y: "D* = m / ||W||_F^2",
		Caption: "One line per instance, from the weight snapshots: D* settles as the geometry forms; drops mark features entering superposition."},
		s, viz.LogX(), viz.HLine(1, "1"), viz.HLine(0.5, "1/2"))
}

// diTrainingChart draws each feature's D_i over training for one instance, with the sticky
// fractions, or returns nil without enough snapshots.
func diTrainingChart(a superposition.Analysis, label string) *viz.Chart {
	var steps []float64
	var idx []int
	for j, sn := range a.Snapshots {
		if sn.Step > 0 {
			steps = append(steps, float64(sn.Step))
			idx = append(idx, j)
		}
	}
	if len(steps) < 2 {
		return nil
	}
	var s []viz.Series
	for i := range a.Dimensionality {
		y := make([]float64, len(idx))
		for k, j := range idx {
			if i < len(a.Snapshots[j].Dimensionality) {
				y[k] = a.Snapshots[j].Dimensionality[i]
			} else {
				y[k] = math.NaN()
			}
		}
		s = append(s, viz.Series{Name: "feature " + strconv.Itoa(i), X: steps, Y: y})
	}
	opts := []viz.Option{viz.LogX()}
	for _, sf := range superposition.StickyFractions {
		opts = append(opts, viz.HLine(sf.Value, fraction(sf.Value)))
	}
	return viz.Lines(viz.Spec{Title: "Feature dimensionality D_i over training, " + label, X: "step (log scale)", Y: "D_i",
		Caption: "One line per feature, from the weight snapshots: each D_i wanders, then sticks at a dashed fraction (1/2 antipodal pair, 2/5 pentagon, 0 dropped) as the geometry forms."},
		s, opts...)
}

// ---- Helpers ----

// curve downsamples a training curve to at most maxCurvePoints points, always keeping the
// last one.
func curve(steps []int, ys []float64) ([]float64, []float64) {
	k := min(len(steps), len(ys))
	stride := max(1, (k+maxCurvePoints-1)/maxCurvePoints)
	var x, y []float64
	for j := 0; j < k; j += stride {
		x, y = append(x, float64(steps[j])), append(y, ys[j])
	}
	if k > 0 && (k-1)%stride != 0 {
		x, y = append(x, float64(steps[k-1])), append(y, ys[k-1])
	}
	return x, y
}

func featureNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

func neuronNames(m int) []string {
	out := make([]string, m)
	for i := range out {
		out[i] = "n" + strconv.Itoa(i)
	}
	return out
}

// representedDefinition is the pages' definition of "represented".
const representedDefinition = "Represented counts ||W||_F^2 = sum_i ||W_i||^2 (Elhage et al. 2022: about 1 per represented feature, 0 per dropped one; basis-independent, so D* = m / represented). Individually represented counts features with ||W_i|| >= 0.5, a direction of their own: dense features of equal importance get m dimensions spread over all of them, so few stand alone."

// representedText is one instance's "represented" readout.
func representedText(a superposition.Analysis, n int) string {
	return fmt.Sprintf("%.1f of %d features represented, %d individually", a.Represented, n, a.Individual)
}

func instanceDensities(ins []superposition.Analysis) []float64 {
	out := make([]float64, len(ins))
	for i, a := range ins {
		out[i] = meanOr(a.Density, 1)
	}
	return out
}

func distinct(v []float64) int {
	set := map[float64]bool{}
	for _, x := range v {
		set[x] = true
	}
	return len(set)
}

func mean(v []float64) float64 { return meanOr(v, 0) }

func meanOr(v []float64, def float64) float64 {
	if len(v) == 0 {
		return def
	}
	return stats.Mean(v)
}

func g3(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// fraction writes a sticky fraction as p/q.
func fraction(v float64) string {
	for q := 1; q <= 8; q++ {
		p := math.Round(v * float64(q))
		if math.Abs(p/float64(q)-v) < 1e-9 {
			if q == 1 {
				return strconv.Itoa(int(p))
			}
			return fmt.Sprintf("%d/%d", int(p), q)
		}
	}
	return g3(v)
}

// upToOne is the y axis of a quantity that cannot exceed 1 (a cosine, variance explained): from
// a round number (a step of 0.05) below the values and marks to 1, instead of ECharts' 1.02
// past anything reachable. A value a rounding above 1 raises the top to it.
func upToOne(vals []float64, marks ...float64) viz.Option {
	lo, hi := 1.0, 1.0
	for _, v := range append(append([]float64(nil), vals...), marks...) {
		if finite(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	lo = math.Floor(lo*20-1e-9) / 20
	return viz.YRange(lo, hi)
}
