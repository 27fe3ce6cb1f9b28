package superposition

import "math"

// Analysis is one trained instance with every metric a chart plots. All
// slices over features are indexed by feature i; see Weights for W's layout.
type Analysis struct {
	Label      string    `json:"label"`
	Kind       Kind      `json:"kind"`
	Density    []float64 `json:"density"`
	Importance []float64 `json:"importance"`
	Seed       uint64    `json:"seed"`
	FinalLoss  float64   `json:"final_loss"`
	Weights
	// WtW is W^T W [n][n], the heatmap of Elhage et al. 2022's first figures.
	WtW [][]float64 `json:"WtW"`
	// Norms ||W_i||, Interference sum_{j!=i} (W_i_hat . W_j)^2,
	// Dimensionality D_i, Vulnerability 1/sqrt(D_i) (see the functions of the
	// same names).
	Norms          []float64 `json:"norms"`
	Interference   []float64 `json:"interference"`
	Dimensionality []float64 `json:"dimensionality"`
	Vulnerability  []float64 `json:"vulnerability"`
	// DStar is m / ||W||_F^2.
	DStar float64 `json:"d_star"`
	// Represented is ||W||_F^2, the number of features represented;
	// Individual counts those with ||W_i|| >= IndividualNorm (see the
	// functions of the same names).
	Represented float64  `json:"represented"`
	Individual  int      `json:"individual"`
	Geometry    Geometry `json:"geometry"`
	// Angles are the adjacent angles between represented features when m = 2.
	Angles []float64 `json:"angles,omitempty"`
	// Neurons is set for models with a privileged hidden basis (ReLUHidden
	// and, on W1, AbsValue); Neurons2 is AbsValue's readout W2.
	Neurons  *NeuronStats `json:"neurons,omitempty"`
	Neurons2 *NeuronStats `json:"neurons_out,omitempty"`
	// LossSteps and Loss are the training curve.
	LossSteps []int     `json:"loss_steps"`
	Loss      []float64 `json:"loss"`
	// Snapshots are the weights over training with their D*.
	Snapshots []SnapshotAnalysis `json:"snapshots,omitempty"`
}

// SnapshotAnalysis is a snapshot with the metrics that show geometry forming.
type SnapshotAnalysis struct {
	Step           int         `json:"step"`
	W              [][]float64 `json:"W"`
	B              []float64   `json:"b"`
	DStar          float64     `json:"d_star"`
	Dimensionality []float64   `json:"dimensionality"`
}

// Analyze computes every metric of one trained instance. JSON cannot hold
// Inf, so a zero W reports DStar 0.
func Analyze(kind Kind, ir InstanceResult) Analysis {
	W := ir.Final.W
	a := Analysis{Label: ir.Instance.Label, Kind: kind, Density: ir.Instance.Data.Density,
		Importance: ir.Instance.Importance, Seed: ir.Instance.Seed, FinalLoss: ir.FinalLoss,
		Weights: ir.Final, WtW: GramMatrix(W), Norms: FeatureNorms(W), Interference: Interference(W),
		Dimensionality: Dimensionalities(W), Vulnerability: Vulnerability(W), DStar: finite(DStar(W)),
		Represented: Represented(W), Individual: Individual(W),
		Geometry: ReadGeometry(W, GeometryOptions{}), LossSteps: ir.LossSteps, Loss: ir.Loss}
	if len(W) > 0 && len(W[0]) == 2 {
		a.Angles = AdjacentAngles(W, 0.5)
	}
	switch kind {
	case ReLUHidden:
		ns := Neurons(W)
		a.Neurons = &ns
	case AbsValue:
		ns, ns2 := Neurons(W), Neurons(ir.Final.W2)
		a.Neurons, a.Neurons2 = &ns, &ns2
	}
	for _, s := range ir.Snapshots {
		a.Snapshots = append(a.Snapshots, SnapshotAnalysis{Step: s.Step, W: s.W, B: s.B,
			DStar: finite(DStar(s.W)), Dimensionality: Dimensionalities(s.W)})
	}
	return a
}

func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// BestOfSeeds splits results into consecutive groups of seeds instances and
// returns the lowest-FinalLoss instance of each group: gradient descent often
// misses the best geometry when m is small (Elhage et al. 2022), so each
// setting is trained from several seeds and the best kept.
func BestOfSeeds(res []InstanceResult, seeds int) []InstanceResult {
	seeds = max(seeds, 1)
	var out []InstanceResult
	for g := 0; g < len(res); g += seeds {
		best := g
		for k := g; k < min(g+seeds, len(res)); k++ {
			if res[k].FinalLoss < res[best].FinalLoss {
				best = k
			}
		}
		out = append(out, res[best])
	}
	return out
}
