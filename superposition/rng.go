package superposition

import "math/bits"

// rng is wyrand (Wang Yi's 64-bit generator): one multiply per draw, a full
// 2^64 period and good statistical quality, fast enough that sampling does not
// dominate a training step. It is deterministic given its seed.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng {
	r := rng{s: seed ^ 0x9e3779b97f4a7c15}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// float returns a uniform float64 in [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

// norm returns a standard normal deviate (Marsaglia polar method).
func (r *rng) norm() float64 {
	for {
		u := 2*r.float() - 1
		v := 2*r.float() - 1
		s := u*u + v*v
		if s > 0 && s < 1 {
			return u * sqrt(-2*log(s)/s)
		}
	}
}

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}
