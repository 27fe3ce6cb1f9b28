package superposition

import (
	"math"
	"sort"

	"github.com/mechinterp/mechinterp/tensor"
)

// FeatureNorms returns ||W_i|| for each feature: how strongly feature i is
// represented (Elhage et al. 2022, Toy Models of Superposition, "Demonstrating
// Superposition"). W[i] is feature i's direction (see Weights).
func FeatureNorms(W [][]float64) []float64 {
	out := make([]float64, len(W))
	for i, w := range W {
		out[i] = math.Sqrt(tensor.Dot64(w, w))
	}
	return out
}

// Interference returns sum_{j != i} (W_i_hat . W_j)^2 for each feature i:
// how much the other features project onto feature i's direction (Elhage et
// al. 2022, "Demonstrating Superposition", where it colors the ||W_i|| bars).
// It is 0 for a feature with W_i = 0.
func Interference(W [][]float64) []float64 {
	out, _ := squaredProjections(W, false)
	return out
}

// squaredProjections returns, for each feature i, sum_j (W_i_hat . W_j)^2
// over every j (j != i unless self), 0 for a feature with W_i = 0, and the
// norms ||W_i||: the sums of Interference and Dimensionalities.
func squaredProjections(W [][]float64, self bool) (sums, norms []float64) {
	sums = make([]float64, len(W))
	norms = FeatureNorms(W)
	for i, wi := range W {
		if norms[i] == 0 {
			continue
		}
		var s float64
		for j, wj := range W {
			if j == i && !self {
				continue
			}
			d := tensor.Dot64(wi, wj) / norms[i]
			s += d * d
		}
		sums[i] = s
	}
	return sums, norms
}

// GramMatrix returns W^T W [n][n] (entry (i,j) = W_i . W_j), the matrix the
// paper shows as a heatmap (Elhage et al. 2022, "Demonstrating
// Superposition"): its diagonal is ||W_i||^2, off-diagonal entries are
// interference.
func GramMatrix(W [][]float64) [][]float64 {
	out := make([][]float64, len(W))
	for i := range W {
		out[i] = make([]float64, len(W))
		for j := range W {
			out[i][j] = tensor.Dot64(W[i], W[j])
		}
	}
	return out
}

// IndividualNorm is the norm ||W_i|| from which feature i counts as
// individually represented (Individual, ReadGeometry's MinNorm default):
// trained ReLU models put their features near 1 or 0.
const IndividualNorm = 0.5

// Represented returns ||W||_F^2 = sum_i ||W_i||^2, the number of features W
// represents (Elhage et al. 2022, Toy Models of Superposition, "Uniform
// Superposition": ||W_i||^2 is about 1 for a represented feature and about 0
// for a dropped one). It is basis-independent, so the dense regime, where the
// model spreads its m dimensions over all features in arbitrary directions
// (each ||W_i|| small), reads m represented, not 0; and D* = m / Represented.
func Represented(W [][]float64) float64 {
	var f float64
	for _, w := range W {
		f += tensor.Dot64(w, w)
	}
	return f
}

// Individual counts the features with ||W_i|| >= IndividualNorm: those
// represented along a direction of their own. It is below Represented when
// the model spreads dimensions over many features (dense features of equal
// importance: 0 of 200 at D* = 1).
func Individual(W [][]float64) int {
	c := 0
	for _, n := range FeatureNorms(W) {
		if n >= IndividualNorm {
			c++
		}
	}
	return c
}

// DStar returns the dimensions per feature D* = m / ||W||_F^2 (Elhage et al.
// 2022, "The Geometry of Superposition"): 1 when each feature has its own
// dimension, 1/2 for antipodal pairs. It is +Inf when W is zero.
func DStar(W [][]float64) float64 {
	if len(W) == 0 {
		return math.NaN()
	}
	f := Represented(W)
	if f == 0 {
		return math.Inf(1)
	}
	return float64(len(W[0])) / f
}

// Dimensionalities returns the feature dimensionality
// D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2, j including i (Elhage et al.
// 2022, "The Geometry of Superposition", "Feature Dimensionality"): the
// fraction of a dimension feature i gets. It sticks at 1, 3/4 (tetrahedron),
// 2/3 (triangle), 1/2 (antipodal pair), 2/5 (pentagon), 3/8 (square
// antiprism) and 0 (not learned, reported for W_i = 0).
func Dimensionalities(W [][]float64) []float64 {
	out, norms := squaredProjections(W, true)
	for i, s := range out {
		if norms[i] != 0 {
			out[i] = norms[i] * norms[i] / s
		}
	}
	return out
}

// Vulnerability returns, for each feature i, the adversarial vulnerability
// that superposition creates (Elhage et al. 2022, "Superposition and
// Adversarial Robustness"): the largest change of feature i's
// pre-activation output W_i . (W delta) over input perturbations delta with
// ||delta||_2 = 1, divided by the change ||W_i||^2 that a perturbation along
// the feature's own input axis makes. The maximizing delta is
// W^T W_i / ||W^T W_i||, so
//
//	V_i = ||W^T W_i|| / ||W_i||^2 = sqrt(sum_j (W_i . W_j)^2) / ||W_i||^2 = 1/sqrt(D_i).
//
// V_i = 1 without superposition (orthogonal features: the best attack is the
// feature itself) and grows as features share dimensions: sqrt(2) for an
// antipodal pair, sqrt(5/2) for a pentagon, sqrt(n/m) for n features in a
// tight frame of m dimensions. It is 0 for an unrepresented feature.
func Vulnerability(W [][]float64) []float64 {
	out := make([]float64, len(W))
	for i, wi := range W {
		n2 := tensor.Dot64(wi, wi)
		if n2 == 0 {
			continue
		}
		var s float64
		for _, wj := range W {
			d := tensor.Dot64(wi, wj)
			s += d * d
		}
		out[i] = math.Sqrt(s) / n2
	}
	return out
}

// WorstPerturbation returns the unit input perturbation delta that most
// changes feature i's pre-activation output, W^T W_i / ||W^T W_i||, and that
// change, ||W^T W_i|| (see Vulnerability).
func WorstPerturbation(W [][]float64, i int) (delta []float64, effect float64) {
	delta = make([]float64, len(W))
	for j, wj := range W {
		delta[j] = tensor.Dot64(W[i], wj)
	}
	effect = math.Sqrt(tensor.Dot64(delta, delta))
	if effect > 0 {
		for j := range delta {
			delta[j] /= effect
		}
	}
	return delta, effect
}

// NeuronStats describes the neurons of a privileged hidden layer (Elhage et
// al. 2022, "Superposition in a Privileged Basis").
type NeuronStats struct {
	// Monosemanticity[k] = max_i |W_ki| / ||W_k||: 1 when neuron k reads one
	// feature, 1/sqrt(n) when it reads all equally.
	Monosemanticity []float64 `json:"monosemanticity"`
	// FeaturesPerNeuron[k] is the participation ratio
	// (sum_i W_ki^2)^2 / sum_i W_ki^4, the effective number of features
	// neuron k reads: 1 for a monosemantic neuron, j for j equal weights.
	FeaturesPerNeuron []float64 `json:"features_per_neuron"`
	// TopFeature[k] is argmax_i |W_ki|.
	TopFeature []int `json:"top_feature"`
	// Polysemantic counts neurons with Monosemanticity below 0.9.
	Polysemantic int `json:"polysemantic"`
}

// Neurons computes NeuronStats from W (feature-major, as in Weights): neuron
// k's weights are W[i][k] over features i. A neuron with zero weights has
// monosemanticity 0 and 0 features.
func Neurons(W [][]float64) NeuronStats {
	n := len(W)
	m := 0
	if n > 0 {
		m = len(W[0])
	}
	s := NeuronStats{Monosemanticity: make([]float64, m), FeaturesPerNeuron: make([]float64, m), TopFeature: make([]int, m)}
	for k := 0; k < m; k++ {
		var sq, q, mx float64
		top := 0
		for i := 0; i < n; i++ {
			w := W[i][k]
			sq += w * w
			q += w * w * w * w
			if math.Abs(w) > mx {
				mx, top = math.Abs(w), i
			}
		}
		s.TopFeature[k] = top
		if sq == 0 {
			continue
		}
		s.Monosemanticity[k] = mx / math.Sqrt(sq)
		s.FeaturesPerNeuron[k] = sq * sq / q
		if s.Monosemanticity[k] < 0.9 {
			s.Polysemantic++
		}
	}
	return s
}

// AdjacentAngles returns, for a model with m = 2, the angles in degrees
// between angularly adjacent represented features (||W_i|| >= minNorm),
// sorted by direction; they sum to 360. A pentagon gives five angles of 72.
func AdjacentAngles(W [][]float64, minNorm float64) []float64 {
	var ang []float64
	for _, w := range W {
		if len(w) != 2 || math.Hypot(w[0], w[1]) < minNorm {
			continue
		}
		ang = append(ang, math.Atan2(w[1], w[0])*180/math.Pi)
	}
	if len(ang) < 2 {
		return nil
	}
	sort.Float64s(ang)
	out := make([]float64, len(ang))
	for j := range ang {
		next := ang[(j+1)%len(ang)]
		if j == len(ang)-1 {
			next += 360
		}
		out[j] = next - ang[j]
	}
	return out
}
