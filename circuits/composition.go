package circuits

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
)

// CompositionKind says how a later head reads what an earlier head wrote
// (Elhage et al. 2021, "Three kinds of composition").
type CompositionKind int

// The three kinds of composition.
const (
	// QComposition: the earlier head's output feeds the later head's queries;
	// R = W_Q W_K^T of the later head.
	QComposition CompositionKind = iota
	// KComposition: it feeds the later head's keys; R = (W_Q W_K^T)^T. An
	// induction head K-composes with a previous-token head (Olsson et al. 2022).
	KComposition
	// VComposition: it feeds the later head's values; R = W_V W_O.
	VComposition
)

// CompositionKinds lists the kinds in order Q, K, V.
var CompositionKinds = []CompositionKind{QComposition, KComposition, VComposition}

// String returns "Q", "K" or "V".
func (k CompositionKind) String() string {
	switch k {
	case QComposition:
		return "Q"
	case KComposition:
		return "K"
	case VComposition:
		return "V"
	}
	return fmt.Sprintf("CompositionKind(%d)", int(k))
}

// MarshalText writes the kind as "Q", "K" or "V".
func (k CompositionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Head names one attention head ("L1H2"); it is models.Head, the one head
// type every package shares.
type Head = models.Head

// Baseline is the composition score of random matrices of the shapes of the
// real ones (each factor i.i.d. Gaussian, [d_model,d_head] times
// [d_head,d_model]), over Samples draws from Seed: what the score is by
// chance, so that a reader sees which real pairs stand above it (Elhage et
// al. 2021 compare against such a baseline).
type Baseline struct {
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
	P95     float64 `json:"p95"` // 95th percentile of the random scores
	Samples int     `json:"samples"`
	Seed    uint64  `json:"seed"`
}

// MarshalJSON writes null for the statistics of no samples (NaN).
func (b Baseline) MarshalJSON() ([]byte, error) {
	type plain Baseline
	return jsonx.Marshal(plain(b))
}

// Z returns how many standard deviations score lies above the baseline mean.
func (b Baseline) Z(score float64) float64 { return (score - b.Mean) / b.Std }

// BaselineSamples is the number of random draws Composition averages over.
const BaselineSamples = 200

// CompositionScores holds one kind of composition score for every ordered
// pair of heads. Heads are indexed layer*NHeads + head.
type CompositionScores struct {
	Kind            CompositionKind
	NLayers, NHeads int
	// Scores[i][j] is the score from earlier head i to later head j; NaN
	// unless head i's layer is below head j's.
	Scores   [][]float64
	Baseline Baseline
}

// HeadAt returns the head with index i (layer*NHeads + head).
func (s *CompositionScores) HeadAt(i int) Head { return Head{Layer: i / s.NHeads, Head: i % s.NHeads} }

// At returns the score from an earlier head to a later one (NaN when the
// first is not in an earlier layer, or either is out of range).
func (s *CompositionScores) At(earlier, later Head) float64 {
	idx := func(h Head) int {
		if h.Layer < 0 || h.Layer >= s.NLayers || h.Head < 0 || h.Head >= s.NHeads {
			return -1
		}
		return h.Layer*s.NHeads + h.Head
	}
	i, j := idx(earlier), idx(later)
	if i < 0 || j < 0 {
		return math.NaN()
	}
	return s.Scores[i][j]
}

// CompositionPair is one scored pair of heads.
type CompositionPair struct {
	Kind    CompositionKind `json:"kind"`
	Earlier Head            `json:"earlier"`
	Later   Head            `json:"later"`
	Score   float64         `json:"score"`
	// Z is (Score - baseline mean) / baseline std.
	Z float64 `json:"z"`
}

// Pairs returns every scored pair, highest score first.
func (s *CompositionScores) Pairs() []CompositionPair {
	var out []CompositionPair
	for i, row := range s.Scores {
		for j, v := range row {
			if !math.IsNaN(v) {
				out = append(out, CompositionPair{Kind: s.Kind, Earlier: s.HeadAt(i), Later: s.HeadAt(j), Score: v, Z: s.Baseline.Z(v)})
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out
}

// Top returns the n highest-scoring pairs (fewer if there are fewer pairs).
func (s *CompositionScores) Top(n int) []CompositionPair {
	p := s.Pairs()
	return p[:min(max(n, 0), len(p))]
}

// MarshalJSON writes the scores with null where a pair is not scored (JSON
// has no NaN).
func (s *CompositionScores) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind     CompositionKind `json:"kind"`
		NLayers  int             `json:"n_layers"`
		NHeads   int             `json:"n_heads"`
		Scores   [][]jsonx.Float `json:"scores"`
		Baseline Baseline        `json:"baseline"`
	}{s.Kind, s.NLayers, s.NHeads, jsonx.Matrix(s.Scores), s.Baseline})
}

// Composition returns the kind's composition score for every pair (earlier
// head, later head) in different layers, ||L R||_F / (||L||_F ||R||_F) with L
// the earlier head's W_V W_O and R the later head's W_Q W_K^T (Q), its
// transpose (K) or W_V W_O (V) (Elhage et al. 2021), beside the score of
// random Gaussian matrices of the same shapes drawn from seed. Weights are
// processed as LoadWeights says.
func Composition(m *models.Model, kind CompositionKind, seed uint64) (*CompositionScores, error) {
	w, err := LoadWeights(m)
	if err != nil {
		return nil, err
	}
	return w.Composition(kind, seed)
}

// gram holds a factored matrix A·B by the k x k matrices its norms need.
type gram struct {
	a, b     *mat.Dense // A [m,k], B [k,n]
	ata, bbt *mat.Dense // A^T A, B B^T
	norm     float64
}

func newGram(a, b *mat.Dense) gram {
	g := gram{a: a, b: b, ata: &mat.Dense{}, bbt: &mat.Dense{}}
	g.ata.Mul(a.T(), a)
	g.bbt.Mul(b, b.T())
	g.norm = math.Sqrt(math.Max(0, frobDot(g.ata, g.bbt)))
	return g
}

// compose returns ||L R||_F / (||L|| ||R||) for L = A1 B1, R = A2 B2, on k x k
// matrices: with M = B1 A2, ||A1 M B2||^2 = tr(M^T G1 M H2) = <G1 M, M H2>_F,
// G1 = A1^T A1 and H2 = B2 B2^T (both symmetric).
func compose(l, r gram) float64 {
	var m, gm, mh mat.Dense
	m.Mul(l.b, r.a)
	gm.Mul(l.ata, &m)
	mh.Mul(&m, r.bbt)
	return math.Sqrt(math.Max(0, frobDot(&gm, &mh))) / (l.norm * r.norm)
}

// Composition computes one kind of composition score for every pair of heads
// in different layers (see the package-level Composition).
func (w *Weights) Composition(kind CompositionKind, seed uint64) (*CompositionScores, error) {
	if kind < QComposition || kind > VComposition {
		return nil, fmt.Errorf("circuits: unknown composition kind %d", int(kind))
	}
	c := w.Config
	L, H := c.NLayers, c.NHeads
	ov := make([]gram, L*H)
	right := make([]gram, L*H)
	for l := 0; l < L; l++ {
		for h := 0; h < H; h++ {
			i := l*H + h
			ov[i] = newGram(w.WV[l][h], w.WO[l][h])
			switch kind {
			case QComposition:
				right[i] = newGram(w.WQ[l][h], mat.DenseCopyOf(w.WK[l][h].T()))
			case KComposition:
				right[i] = newGram(w.WK[l][h], mat.DenseCopyOf(w.WQ[l][h].T()))
			case VComposition:
				right[i] = ov[i]
			}
		}
	}
	s := &CompositionScores{Kind: kind, NLayers: L, NHeads: H, Scores: make([][]float64, L*H)}
	for i := range s.Scores {
		s.Scores[i] = make([]float64, L*H)
		for j := range s.Scores[i] {
			if i/H < j/H {
				s.Scores[i][j] = compose(ov[i], right[j])
			} else {
				s.Scores[i][j] = math.NaN()
			}
		}
	}
	s.Baseline = RandomBaseline(c.DModel, c.DHead, BaselineSamples, seed)
	return s, nil
}

// RandomBaseline returns the composition score of random matrices L = A1 B1
// and R = A2 B2 with every factor i.i.d. standard Gaussian, A [dModel,dHead]
// and B [dHead,dModel], over samples draws seeded by seed. The score does not
// depend on the Gaussian's scale, and all three kinds have these shapes.
func RandomBaseline(dModel, dHead, samples int, seed uint64) Baseline {
	rng := rand.New(rand.NewPCG(seed, 0x636f6d706f736500)) // "compose"
	randn := func(r, c int) *mat.Dense {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		return mat.NewDense(r, c, d)
	}
	b := Baseline{Samples: samples, Seed: seed}
	if samples <= 0 || dModel <= 0 || dHead <= 0 {
		b.Mean, b.Std, b.P95 = math.NaN(), math.NaN(), math.NaN()
		return b
	}
	scores := make([]float64, samples)
	var sum float64
	for i := range scores {
		l := newGram(randn(dModel, dHead), randn(dHead, dModel))
		r := newGram(randn(dModel, dHead), randn(dHead, dModel))
		scores[i] = compose(l, r)
		sum += scores[i]
	}
	b.Mean = sum / float64(samples)
	var ss float64
	for _, v := range scores {
		ss += (v - b.Mean) * (v - b.Mean)
	}
	if samples > 1 {
		b.Std = math.Sqrt(ss / float64(samples-1))
	}
	sort.Float64s(scores)
	b.P95 = scores[min(samples-1, int(math.Ceil(0.95*float64(samples)))-1)]
	return b
}

func sortPairsByZ(p []CompositionPair) {
	sort.SliceStable(p, func(a, b int) bool { return p[a].Z > p[b].Z })
}
