package superposition

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/seed"
)

var (
	sqrt = math.Sqrt
	log  = math.Log
)

// Distribution describes the synthetic inputs of one toy-model instance, as in
// Elhage et al. 2022 (Toy Models of Superposition, "Demonstrating
// Superposition" and "Correlated and Anticorrelated Features"): feature i is 0
// with probability 1-Density[i] (the sparsity S_i) and otherwise uniform on
// [0,1] (or on [-1,1] when Signed, the inputs of the absolute-value model).
//
// Correlated lists sets of features that are zero or non-zero together: one
// draw with the set's density (that of its first member) decides for the whole
// set, and each member then takes its own uniform value. Anticorrelated lists
// sets of which at most one member is non-zero: the set is active with
// probability k*p (k members of density p, capped at 1) and one member,
// chosen uniformly, takes a value, so each member keeps marginal density p.
// A feature may belong to at most one set.
type Distribution struct {
	Density        []float64 `json:"density" mapstructure:"density"`
	Signed         bool      `json:"signed,omitempty" mapstructure:"signed"`
	Correlated     [][]int   `json:"correlated,omitempty" mapstructure:"correlated"`
	Anticorrelated [][]int   `json:"anticorrelated,omitempty" mapstructure:"anticorrelated"`
}

// UniformDensity returns n copies of density: every feature has sparsity
// S = 1-density.
func UniformDensity(n int, density float64) []float64 {
	d := make([]float64, n)
	for i := range d {
		d[i] = density
	}
	return d
}

// GeometricImportance returns the importance schedule I_i = r^i for i < n
// (Elhage et al. 2022 use r = 0.7 and 0.9); r = 1 gives equal importance.
func GeometricImportance(n int, r float64) []float64 {
	imp := make([]float64, n)
	v := 1.0
	for i := range imp {
		imp[i] = v
		v *= r
	}
	return imp
}

// validate checks the distribution against n features.
func (d *Distribution) validate(n int) error {
	if len(d.Density) != n {
		return fmt.Errorf("density has %d values for %d features", len(d.Density), n)
	}
	for i, p := range d.Density {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("density[%d] = %v is outside [0,1]", i, p)
		}
	}
	seen := make([]bool, n)
	for _, sets := range [][][]int{d.Correlated, d.Anticorrelated} {
		for _, set := range sets {
			if len(set) == 0 {
				return fmt.Errorf("empty feature set")
			}
			for _, f := range set {
				if f < 0 || f >= n {
					return fmt.Errorf("feature set member %d out of range [0,%d)", f, n)
				}
				if seen[f] {
					return fmt.Errorf("feature %d belongs to more than one set", f)
				}
				seen[f] = true
			}
		}
	}
	return nil
}

// sampler draws inputs for one instance. Independent features use one 32-bit
// half of a 64-bit draw each: u < p*2^32 decides presence and u/(p*2^32) is
// then uniform on [0,1), so one random number serves both purposes.
type sampler struct {
	n      int
	thr    []uint64  // p*2^32, presence iff u < thr
	inv    []float64 // 1/(p*2^32)
	signed bool
	free   []int32 // features in no set, in order
	corr   [][]int32
	corrP  []float64
	anti   [][]int32
	antiP  []float64
	simple bool
}

func newSampler(d *Distribution) *sampler {
	n := len(d.Density)
	s := &sampler{n: n, thr: make([]uint64, n), inv: make([]float64, n), signed: d.Signed}
	for i, p := range d.Density {
		t := p * 0x1p32
		s.thr[i] = uint64(math.Floor(t)) // lo < floor(t) keeps lo/t below 1
		if t > 0 {
			s.inv[i] = 1 / t
		}
	}
	inSet := make([]bool, n)
	// members lists a set's features as the sampler keeps them and marks them in inSet.
	members := func(set []int) []int32 {
		c := make([]int32, len(set))
		for k, f := range set {
			c[k] = int32(f)
			inSet[f] = true
		}
		return c
	}
	for _, set := range d.Correlated {
		s.corr = append(s.corr, members(set))
		s.corrP = append(s.corrP, d.Density[set[0]])
	}
	for _, set := range d.Anticorrelated {
		s.anti = append(s.anti, members(set))
		s.antiP = append(s.antiP, math.Min(1, float64(len(set))*d.Density[set[0]]))
	}
	for i := 0; i < n; i++ {
		if !inSet[i] {
			s.free = append(s.free, int32(i))
		}
	}
	s.simple = len(s.corr) == 0 && len(s.anti) == 0
	return s
}

// sample writes one input into x (length n) and the indices of its non-zero
// features into nz, returning how many there are.
func (s *sampler) sample(r *seed.Rand, x []float64, nz []int32) int {
	if s.simple {
		return s.sampleSimple(r, x, nz)
	}
	clear(x)
	k := 0
	for _, i := range s.free {
		if v := r.Float64(); v < s.thrP(i) {
			x[i] = s.value(r.Float64())
			nz[k] = i
			k++
		}
	}
	for c, set := range s.corr {
		if r.Float64() < s.corrP[c] {
			for _, i := range set {
				x[i] = s.value(r.Float64())
				nz[k] = i
				k++
			}
		}
	}
	for c, set := range s.anti {
		if r.Float64() < s.antiP[c] {
			i := set[r.IntN(len(set))]
			x[i] = s.value(r.Float64())
			nz[k] = i
			k++
		}
	}
	return k
}

func (s *sampler) thrP(i int32) float64 { return float64(s.thr[i]) * 0x1p-32 }

func (s *sampler) value(u float64) float64 {
	if s.signed {
		return 2*u - 1
	}
	return u
}

func (s *sampler) sampleSimple(r *seed.Rand, x []float64, nz []int32) int {
	n := s.n
	x = x[:n]
	thr := s.thr[:n]
	inv := s.inv[:n]
	nz = nz[:n]
	k := 0
	i := 0
	for ; i+1 < n; i += 2 {
		u := r.Uint64()
		lo, hi := u&0xffffffff, u>>32
		if lo < thr[i] {
			x[i] = float64(lo) * inv[i]
			nz[k] = int32(i)
			k++
		} else {
			x[i] = 0
		}
		if hi < thr[i+1] {
			x[i+1] = float64(hi) * inv[i+1]
			nz[k] = int32(i + 1)
			k++
		} else {
			x[i+1] = 0
		}
	}
	if i < n {
		lo := r.Uint64() & 0xffffffff
		if lo < thr[i] {
			x[i] = float64(lo) * inv[i]
			nz[k] = int32(i)
			k++
		} else {
			x[i] = 0
		}
	}
	if s.signed {
		for _, j := range nz[:k] {
			x[j] = 2*x[j] - 1
		}
	}
	return k
}

// Sample draws count inputs from d, from a stream derived from key, and
// returns them as rows of length len(d.Density). It is the sampler the
// trainer uses, exposed for tests, SAE data and plots.
func (d *Distribution) Sample(count int, key uint64) ([][]float64, error) {
	n := len(d.Density)
	if err := d.validate(n); err != nil {
		return nil, fmt.Errorf("distribution: %w", err)
	}
	s := newSampler(d)
	r := seed.New(seed.Derive(key, 0, purposeSample))
	nz := make([]int32, n)
	out := make([][]float64, count)
	for b := range out {
		out[b] = make([]float64, n)
		s.sample(&r, out[b], nz)
	}
	return out, nil
}
