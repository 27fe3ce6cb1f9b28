package models

import (
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// Kernels of the architectures beyond GPT-2 (RMSNorm, rotary positions, the
// exact GELU and SiLU), each forward beside its backward as in ops.go.

// rmsNormStats copies each row of x [N,C] into xhat and puts
// √(mean(x²)+ε) in scale [N] (Zhang & Sennrich 2019, "Root Mean Square
// Layer Normalization"); layerNormNormalize then divides by it.
func rmsNormStats(xhat, scale, x []float32, N, C int, eps float32) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*C : (i+1)*C]
			copy(xhat[i*C:(i+1)*C], row)
			var s float64
			for _, v := range row {
				s += float64(v) * float64(v)
			}
			scale[i] = float32(math.Sqrt(s/float64(C) + float64(eps)))
		}
	})
}

// rmsNormGain computes out = xhat·w row by row.
func rmsNormGain(out, xhat, w []float32, N, C int) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o, h := out[i*C:(i+1)*C], xhat[i*C:(i+1)*C]
			for j := range o {
				o[j] = h[j] * w[j]
			}
		}
	})
}

// rmsNormGainBackward writes dxhat = dout·w and adds dw += Σ dout·xhat.
func rmsNormGainBackward(dxhat, dw, dout, xhat, w []float32, N, C int) {
	parallelCols(N, C, func(j0, j1 int) {
		dw, w := dw[j0:j1], w[j0:j1]
		for i := 0; i < N; i++ {
			do, h, d := dout[i*C+j0:i*C+j1], xhat[i*C+j0:i*C+j1], dxhat[i*C+j0:i*C+j1]
			for j := range do {
				dw[j] += do[j] * h[j]
				d[j] = do[j] * w[j]
			}
		}
	})
}

// rmsNormBackward adds to dx [N,C] the gradient of xhat = x/scale given
// dxhat: (dxhat − xhat·mean(dxhat·xhat))/scale.
func rmsNormBackward(dx, dxhat, xhat, scale []float32, N, C int) {
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dh, h, d := dxhat[i*C:(i+1)*C], xhat[i*C:(i+1)*C], dx[i*C:(i+1)*C]
			var m float64
			for j := range dh {
				m += float64(dh[j] * h[j])
			}
			mh := float32(m / float64(C))
			r := 1 / scale[i]
			for j := range d {
				d[j] += r * (dh[j] - h[j]*mh)
			}
		}
	})
}

// rotaryTables fills cos, sin [T,R/2] with the angles t·θ_i of rotary
// positions (Su et al. 2021, "RoFormer"), θ_i = base^(−2i/R), rescaled by
// scaling (see RotaryScaling), computed in float32 as Hugging Face's GPT-NeoX
// and Llama rotary embeddings compute them (inv_freq, then the outer product
// t·inv_freq), so that angles at long positions round the same way.
func rotaryTables(cos, sin []float32, T, R int, base float64, scaling RotaryScaling) {
	h := R / 2
	for i := 0; i < h; i++ {
		inv := float32(1 / float32(math.Pow(base, float64(float32(2*i)/float32(R)))))
		inv = scaleFrequency(inv, scaling)
		for t := 0; t < T; t++ {
			ang := float64(float32(t) * inv)
			cos[t*h+i] = float32(math.Cos(ang))
			sin[t*h+i] = float32(math.Sin(ang))
		}
	}
}

// scaleFrequency applies a RotaryScaling to one rotary frequency, in
// float32 as transformers' _compute_linear_scaling_rope_parameters and
// _compute_llama3_parameters compute it.
func scaleFrequency(inv float32, s RotaryScaling) float32 {
	switch s.Type {
	case ScalingLinear:
		return inv / float32(s.Factor)
	case ScalingLlama3:
		factor, old := float32(s.Factor), float32(s.OriginalContext)
		lowF, highF := float32(s.LowFreqFactor), float32(s.HighFreqFactor)
		wavelen := float32(2*math.Pi) / inv
		switch {
		case wavelen < old/highF: // high frequency: kept
			return inv
		case wavelen > old/lowF: // low frequency: divided
			return inv / factor
		}
		smooth := (old/wavelen - lowF) / (highF - lowF)
		return (1-smooth)*inv/factor + smooth*inv
	}
	return inv
}

// rotary writes into out [N,heads,D] the rows of x rotated by position
// (row n is at position n mod T), in GPT-NeoX's rotate-half convention
// (Hugging Face's rotate_half, also Llama's): with x1, x2 the two halves of
// the first R dimensions, out1 = x1·cos − x2·sin, out2 = x2·cos + x1·sin;
// dimensions from R on pass unchanged (rotary_pct < 1).
func rotary(out, x, cos, sin []float32, N, T, heads, D, R int) {
	h := R / 2
	parallelFor(N, 16, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			c, s := cos[(n%T)*h:(n%T+1)*h], sin[(n%T)*h:(n%T+1)*h]
			for k := 0; k < heads; k++ {
				xr, o := x[(n*heads+k)*D:(n*heads+k+1)*D], out[(n*heads+k)*D:(n*heads+k+1)*D]
				for i := 0; i < h; i++ {
					x1, x2 := xr[i], xr[i+h]
					o[i] = x1*c[i] - x2*s[i]
					o[i+h] = x2*c[i] + x1*s[i]
				}
				copy(o[R:], xr[R:])
			}
		}
	})
}

// rotaryBackward turns, in place, the gradient d [N,heads,D] at rotary's
// output into the gradient at its input: the rotation's transpose,
// d1·cos + d2·sin and d2·cos − d1·sin.
func rotaryBackward(d, cos, sin []float32, N, T, heads, D, R int) {
	h := R / 2
	parallelFor(N, 16, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			c, s := cos[(n%T)*h:(n%T+1)*h], sin[(n%T)*h:(n%T+1)*h]
			for k := 0; k < heads; k++ {
				g := d[(n*heads+k)*D : (n*heads+k+1)*D]
				for i := 0; i < h; i++ {
					d1, d2 := g[i], g[i+h]
					g[i] = d1*c[i] + d2*s[i]
					g[i+h] = d2*c[i] - d1*s[i]
				}
			}
		}
	})
}

// activation writes act(x) into out for the MLP activation named fn.
func activation(fn string, out, x []float32) {
	switch fn {
	case ActGelu:
		geluErf(out, x)
	case ActSilu:
		silu(out, x)
	default:
		geluTanh(out, x)
	}
}

// activationBackward adds dout·act'(x) to dx.
func activationBackward(fn string, dx, dout, x []float32) {
	switch fn {
	case ActGelu:
		geluErfBackward(dx, dout, x)
	case ActSilu:
		siluBackward(dx, dout, x)
	default:
		geluTanhBackward(dx, dout, x)
	}
}

// geluErf is the exact GELU (Hendrycks & Gimpel 2016), x·Φ(x) =
// 0.5x(1 + erf(x/√2)): PyTorch's nn.GELU() and Hugging Face's "gelu", which
// GPT-NeoX uses. erf is Abramowitz & Stegun's 7.1.26 (absolute error below
// 1.5e-7, under float32's rounding of Φ near 1), whose e^(−x²/2) the vector
// exponential computes a block at a time: math.Erf per element took a fifth
// of a Pythia-160M forward pass.
func geluErf(out, x []float32) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		var e [512]float32
		for b := lo; b < hi; b += len(e) {
			n := min(len(e), hi-b)
			xs := x[b : b+n]
			for i, v := range xs {
				e[i] = -0.5 * v * v
			}
			tensor.ExpShifted(e[:n], e[:n], 0)
			o := out[b : b+n]
			for i, v := range xs {
				o[i] = v * phi(v, e[i])
			}
		}
	})
}

// phi is Φ(v) given g = e^(−v²/2), by erf(|v|/√2) = 1 − poly(t)·g,
// t = 1/(1 + p|v|/√2) (Abramowitz & Stegun 7.1.26).
func phi(v, g float32) float32 {
	const (
		p  = 0.3275911
		a1 = 0.254829592
		a2 = -0.284496736
		a3 = 1.421413741
		a4 = -1.453152027
		a5 = 1.061405429
	)
	// |v| and the sign of v by their bits: branches on the sign of random
	// activations mispredicted half the time and made the GELU of a
	// Pythia-160M pass take as long as its attention. (Kept small enough
	// for the compiler to inline.)
	const sign = 1 << 31
	b := math.Float32bits(v)
	t := 1 / (1 + p/math.Sqrt2*math.Float32frombits(b&^sign))
	erf := 1 - t*(a1+t*(a2+t*(a3+t*(a4+t*a5))))*g // erf(|v|/√2)
	return 0.5 * (1 + math.Float32frombits(math.Float32bits(erf)^(b&sign)))
}

// geluErfBackward adds dout·(Φ(x) + x·φ(x)) to dx, φ(x) = e^(−x²/2)/√(2π).
func geluErfBackward(dx, dout, x []float32) {
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	parallelFor(len(x), 4096, func(lo, hi int) {
		var e [512]float32
		for b := lo; b < hi; b += len(e) {
			n := min(len(e), hi-b)
			xs := x[b : b+n]
			for i, v := range xs {
				e[i] = -0.5 * v * v
			}
			tensor.ExpShifted(e[:n], e[:n], 0)
			d, g := dx[b:b+n], dout[b:b+n]
			for i, v := range xs {
				d[i] += (phi(v, e[i]) + v*invSqrt2Pi*e[i]) * g[i]
			}
		}
	})
}

// silu is x·σ(x) (Elfwing et al. 2018; Hugging Face's "silu"), computed as
// x / (1 + e^(−x)) with the vector exponential, out as scratch space.
func silu(out, x []float32) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		o, xs := out[lo:hi], x[lo:hi]
		for i, v := range xs {
			o[i] = -v
		}
		tensor.ExpShifted(o, o, 0)
		for i, v := range xs {
			o[i] = v / (1 + o[i])
		}
	})
}

// siluBackward adds dout·σ(x)(1 + x(1 − σ(x))) to dx.
func siluBackward(dx, dout, x []float32) {
	parallelFor(len(x), 4096, func(lo, hi int) {
		var e [512]float32
		for b := lo; b < hi; b += len(e) {
			n := min(len(e), hi-b)
			xs := x[b : b+n]
			for i, v := range xs {
				e[i] = -v
			}
			tensor.ExpShifted(e[:n], e[:n], 0)
			d, g := dx[b:b+n], dout[b:b+n]
			for i, v := range xs {
				s := 1 / (1 + e[i])
				d[i] += s * (1 + v*(1-s)) * g[i]
			}
		}
	})
}
