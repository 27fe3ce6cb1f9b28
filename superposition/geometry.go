package superposition

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mechinterp/mechinterp/tensor"
	"gonum.org/v1/gonum/mat"
)

// StickyFractions are the feature dimensionalities D_i at which Elhage et al.
// 2022 (Toy Models of Superposition, "The Geometry of Superposition") find
// features sticking, with the structure each signals.
var StickyFractions = []struct {
	Value float64 `json:"value"`
	Name  string  `json:"name"`
}{
	{1, "dedicated dimension"},
	{3.0 / 4, "tetrahedron"},
	{2.0 / 3, "triangle"},
	{1.0 / 2, "antipodal pair"},
	{2.0 / 5, "pentagon"},
	{3.0 / 8, "square antiprism"},
}

// GeometryOptions tune the geometry readout. Zero values take the defaults.
type GeometryOptions struct {
	// MinNorm: features with ||W_i|| below it are "not represented"
	// (default 0.5; represented features in a trained ReLU model have norm
	// near 1).
	MinNorm float64
	// MinCos: two features interfere when |cos(W_i, W_j)| exceeds it
	// (default 0.1).
	MinCos float64
	// Tol: a structure is regular when every D_i is within Tol of d/k
	// (default 0.06).
	Tol float64
}

// Structure is one group of features that interfere with each other and
// with no feature outside the group.
type Structure struct {
	// Name is e.g. "pentagon", "antipodal pair", "dedicated dimension", or
	// "k features in d dimensions" for shapes without a name.
	Name     string `json:"name"`
	Features []int  `json:"features"`
	// Dimensions is the rank of the group's span.
	Dimensions int `json:"dimensions"`
	// D are the members' dimensionalities D_i, Expected = Dimensions/len(Features)
	// the value a uniform (tight-frame) arrangement gives.
	D        []float64 `json:"D"`
	Expected float64   `json:"expected"`
	// Regular is true when every D_i is within tolerance of Expected.
	Regular bool `json:"regular"`
}

// Geometry is the readout of the structures found in W.
type Geometry struct {
	Structures     []Structure    `json:"structures"`
	NotRepresented []int          `json:"not_represented"`
	Counts         map[string]int `json:"counts"`
	// Summary is a one-line description, e.g. "pentagon x1".
	Summary string `json:"summary"`
}

var shapeNames = map[[2]int]string{
	{1, 1}: "dedicated dimension",
	{2, 1}: "antipodal pair",
	{3, 2}: "triangle",
	{4, 2}: "square",
	{4, 3}: "tetrahedron",
	{5, 2}: "pentagon",
	{6, 2}: "hexagon",
	{6, 3}: "octahedron",
	{8, 3}: "square antiprism",
}

// ReadGeometry names the structures in W as Elhage et al. 2022 ("The
// Geometry of Superposition") do: features below MinNorm are not
// represented; the rest are grouped into connected components of the graph
// whose edges join features with non-zero interference (|cos| > MinCos);
// each group of k features spanning d dimensions is named by (k, d) — an
// antipodal pair is (2,1), a triangle (3,2), a tetrahedron (4,3), a pentagon
// (5,2), a square antiprism (8,3) — and is regular when its D_i all equal
// d/k, the sticky fraction of that shape.
func ReadGeometry(W [][]float64, opt GeometryOptions) Geometry {
	if opt.MinNorm == 0 {
		opt.MinNorm = IndividualNorm
	}
	if opt.MinCos == 0 {
		opt.MinCos = 0.1
	}
	if opt.Tol == 0 {
		opt.Tol = 0.06
	}
	norms := FeatureNorms(W)
	D := Dimensionalities(W)
	g := Geometry{Counts: map[string]int{}, NotRepresented: []int{}, Structures: []Structure{}}
	var rep []int
	for i, nv := range norms {
		if nv < opt.MinNorm {
			g.NotRepresented = append(g.NotRepresented, i)
		} else {
			rep = append(rep, i)
		}
	}
	for _, members := range interactionGroups(W, rep, norms, opt.MinCos) {
		st := classifyGroup(W, members, D, opt.Tol)
		g.Structures = append(g.Structures, st)
		g.Counts[st.Name]++
	}
	sort.Slice(g.Structures, func(a, b int) bool { return g.Structures[a].Features[0] < g.Structures[b].Features[0] })
	if len(g.NotRepresented) > 0 {
		g.Counts["not represented"] = len(g.NotRepresented)
	}
	g.Summary = summarize(g.Counts)
	return g
}

// interactionGroups partitions the represented features rep into groups
// connected by |cos(W_i, W_j)| > minCos (union-find), each sorted.
func interactionGroups(W [][]float64, rep []int, norms []float64, minCos float64) [][]int {
	parent := map[int]int{}
	for _, i := range rep {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for a, i := range rep {
		for _, j := range rep[a+1:] {
			c := tensor.Dot64(W[i], W[j]) / (norms[i] * norms[j])
			if math.Abs(c) > minCos {
				parent[find(i)] = find(j)
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for _, i := range rep {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	out := make([][]int, 0, len(roots))
	for _, r := range roots {
		sort.Ints(groups[r])
		out = append(out, groups[r])
	}
	return out
}

// classifyGroup names the structure a group of interacting features forms
// from the dimensions it spans and the per-feature dimensionalities D: it is
// regular when every D_i is within tol of dimensions/features.
func classifyGroup(W [][]float64, members []int, D []float64, tol float64) Structure {
	s := Structure{Features: members, Dimensions: spanRank(W, members)}
	k := len(members)
	s.Expected = float64(s.Dimensions) / float64(k)
	s.Regular = true
	for _, i := range members {
		s.D = append(s.D, D[i])
		if math.Abs(D[i]-s.Expected) > tol {
			s.Regular = false
		}
	}
	name, ok := shapeNames[[2]int{k, s.Dimensions}]
	switch {
	case ok:
		s.Name = name
	case s.Dimensions == 2:
		s.Name = fmt.Sprintf("%d-gon", k)
	default:
		s.Name = fmt.Sprintf("%d features in %d dimensions", k, s.Dimensions)
	}
	if !s.Regular {
		s.Name = "irregular " + s.Name
	}
	return s
}

// summarize lists the structure counts by name, sorted.
func summarize(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for j, k := range names {
		if j > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s x%d", k, counts[k])
	}
	return b.String()
}

// spanRank is the number of eigenvalues of the members' Gram matrix above
// 5% of the largest: the dimension their directions span, robust to the
// small noise of a trained model.
func spanRank(W [][]float64, members []int) int {
	k := len(members)
	gram := mat.NewSymDense(k, nil)
	for a, i := range members {
		for b, j := range members[a:] {
			gram.SetSym(a, a+b, tensor.Dot64(W[i], W[j]))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(gram, false) {
		return k
	}
	ev := es.Values(nil)
	top := 0.0
	for _, v := range ev {
		top = math.Max(top, v)
	}
	r := 0
	for _, v := range ev {
		if v > 0.05*top {
			r++
		}
	}
	return r
}

// NearestSticky returns the sticky fraction closest to d and its name.
func NearestSticky(d float64) (float64, string) {
	best, name := 0.0, "not represented"
	dist := math.Abs(d)
	for _, s := range StickyFractions {
		if x := math.Abs(d - s.Value); x < dist {
			best, name, dist = s.Value, s.Name, x
		}
	}
	return best, name
}
