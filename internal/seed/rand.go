package seed

import (
	"math"
	"math/bits"
)

// Rand is wyrand (Wang Yi's 64-bit generator): one multiply per draw, a full
// 2^64 period and good statistical quality, fast enough that sampling does
// not dominate a toy-model training step. It is deterministic given its
// seed; the zero value is a valid generator, but use New.
type Rand struct{ s uint64 }

// New returns a generator seeded with Mix(seed), so that nearby seeds start
// at unrelated points of the sequence. Pass it a Derive'd seed.
func New(seed uint64) Rand { return Rand{s: Mix(seed)} }

// Uint64 returns 64 uniformly random bits.
func (r *Rand) Uint64() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// Float64 returns a uniform float64 in [0, 1) with 53 random bits.
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// NormFloat64 returns a standard normal deviate (Marsaglia's polar method).
func (r *Rand) NormFloat64() float64 {
	for {
		u := 2*r.Float64() - 1
		v := 2*r.Float64() - 1
		s := u*u + v*v
		if s > 0 && s < 1 {
			return u * math.Sqrt(-2*math.Log(s)/s)
		}
	}
}

// IntN returns a uniform integer in [0, n), n > 0 (Lemire's multiply, with
// a bias below n/2^64).
func (r *Rand) IntN(n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}
