package tensor

import "math"

// ExpShifted sets dst[i] = e^(src[i]-shift) for every i < len(src), in
// place when dst and src are the same slice; len(dst) >= len(src).
//
// It is the vector exponential behind softmax, cross-entropy and tanh-GELU,
// where a scalar float64 math.Exp per element was a fifth of a training
// step. Results are float32 with a relative error below 2e-7 (two units in
// the last place) for shifted arguments in [-87.3, 88.3]; below that range
// the result is 0 (e^-Inf = 0, as masked attention needs), above it +Inf,
// and NaN stays NaN. On amd64 with AVX2 and FMA eight lanes run at once;
// elsewhere, and for the last few elements, expf computes the same
// polynomial one element at a time (without fused multiply-adds, so the two
// paths may differ in the last place).
func ExpShifted(dst, src []float32, shift float32) {
	dst = dst[:len(src)]
	n := 0
	if hasExpAsm && len(src) >= 8 {
		n = len(src) &^ 7
		expShiftedAVX2(&dst[0], &src[0], n, shift)
	}
	for i := n; i < len(src); i++ {
		dst[i] = expf(src[i] - shift)
	}
}

// The range of expf: ln of the smallest normal float32, and the largest
// argument whose rounded exponent n stays at most 127.
const (
	expLo = -87.33654
	expHi = 88.37626
)

// Cephes's expf (Moshier): e^x = 2^n · e^r with n = round(x·log2 e) and
// r = x − n·ln 2 in [−ln2/2, ln2/2], ln 2 split in two for an exact
// reduction, and e^r by a degree-7 polynomial (1 + r + r²·p(r)).
const (
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// expf is e^x in float32 by the same steps as the vector kernel.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expLo:
		return 0
	case x > expHi:
		return float32(math.Inf(1))
	}
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - n*expC1
	r -= n * expC2
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*(r*r) + r + 1
	return math.Float32frombits(math.Float32bits(y) + uint32(int32(n))<<23)
}

// GeluTanh sets dst[i] = gelu(x[i]) for GPT-2's tanh GELU ("gelu_new"),
// 0.5x(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³), computed as
// x·σ(2u) = x / (1 + e^(−2u)): one exponential and no tanh (e^(−2u) = +Inf
// gives −0, the limit). dst must not overlap x unless it is x. With AVX2
// and FMA eight values run at once in one pass, each by the same float32
// operations as the portable loop (the exponential's as ExpShifted's), so
// both give the same bits.
func GeluTanh(dst, x []float32) {
	dst = dst[:len(x)]
	n := 0
	if hasExpAsm && len(x) >= 8 {
		n = len(x) &^ 7
		geluTanhAVX2(&dst[0], &x[0], n)
	}
	geluTanhGo(dst[n:], x[n:])
}

const geluA = 0.7978845608028654 // √(2/π)

// geluExp sets e[i] = exp(−2u) with u = √(2/π)(x + 0.044715x³), the term
// both GELU passes build 1/(1 + e) = σ(2u) from.
func geluExp(e, x []float32) {
	for i, v := range x {
		e[i] = -2 * geluA * (v + 0.044715*v*v*v)
	}
	ExpShifted(e, e, 0)
}

func geluTanhGo(dst, x []float32) {
	var e [512]float32
	for b := 0; b < len(x); b += len(e) {
		n := min(len(e), len(x)-b)
		xs := x[b : b+n]
		geluExp(e[:n], xs)
		d := dst[b : b+n]
		for i, v := range xs {
			d[i] = v / (1 + e[i])
		}
	}
}

// GeluTanhBackward adds dout[i]·gelu'(x[i]) to dx[i]. With s = σ(2u) =
// 0.5(1+tanh u) and 1 − tanh²u = 4s(1−s): gelu'(x) = s + 2x·s(1−s)·du/dx.
// As GeluTanh, the AVX2 path and the portable loop give the same bits.
func GeluTanhBackward(dx, dout, x []float32) {
	dx, dout = dx[:len(x)], dout[:len(x)]
	n := 0
	if hasExpAsm && len(x) >= 8 {
		n = len(x) &^ 7
		geluTanhBackwardAVX2(&dx[0], &dout[0], &x[0], n)
	}
	geluTanhBackwardGo(dx[n:], dout[n:], x[n:])
}

func geluTanhBackwardGo(dx, dout, x []float32) {
	var e [512]float32
	for b := 0; b < len(x); b += len(e) {
		n := min(len(e), len(x)-b)
		xs := x[b : b+n]
		geluExp(e[:n], xs)
		d, g := dx[b:b+n], dout[b:b+n]
		for i, v := range xs {
			s := 1 / (1 + e[i])
			du := geluA * (1 + 3*0.044715*v*v)
			d[i] += (s + 2*v*s*(1-s)*du) * g[i]
		}
	}
}
