package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestColSumsExact: the column sums of bias and LayerNorm gradients
// (colSums through addColSums and layerNormBackward's parallelCols) are the
// plain row-by-row loop's, bit for bit, on widths with and without a
// ragged last block of eight and over several blocks of rows.
func TestColSumsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, s := range []struct{ N, C int }{{1, 1}, {3, 13}, {130, 24}, {200, 1030}, {65, 8}} {
		d, h := make([]float32, s.N*s.C), make([]float32, s.N*s.C)
		for i := range d {
			d[i], h[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		db, dw := make([]float32, s.C), make([]float32, s.C)
		wantB, wantW := make([]float32, s.C), make([]float32, s.C)
		for j := range db {
			db[j] = float32(j)
			dw[j] = -float32(j)
			wantB[j], wantW[j] = db[j], dw[j]
		}
		for i := 0; i < s.N; i++ {
			for j := 0; j < s.C; j++ {
				wantB[j] += d[i*s.C+j]
				wantW[j] += d[i*s.C+j] * h[i*s.C+j]
			}
		}
		gotB := append([]float32(nil), db...)
		addColSums(gotB, d, s.N, s.C)
		parallelCols(s.N, s.C, func(j0, j1 int) {
			colSums(db[j0:j1], dw[j0:j1], d[j0:], h[j0:], s.N, s.C)
		})
		for j := range db {
			if math.Float32bits(gotB[j]) != math.Float32bits(wantB[j]) || math.Float32bits(db[j]) != math.Float32bits(wantB[j]) ||
				math.Float32bits(dw[j]) != math.Float32bits(wantW[j]) {
				t.Fatalf("%dx%d column %d: sums %g, %g and %g, want %g and %g", s.N, s.C, j, gotB[j], db[j], dw[j], wantB[j], wantW[j])
			}
		}
	}
}

// TestLayerNormRowsExact: LayerNorm's statistics and input gradient, four
// rows at a time, are the one-row loops' bit for bit (row counts with and
// without a remainder of four, split among the cores or not).
func TestLayerNormRowsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, s := range []struct{ N, C int }{{1, 5}, {7, 16}, {130, 33}, {515, 64}} {
		x, dout, w := make([]float32, s.N*s.C), make([]float32, s.N*s.C), make([]float32, s.C)
		for i := range x {
			x[i], dout[i] = float32(rng.NormFloat64()*3+1), float32(rng.NormFloat64())
		}
		for j := range w {
			w[j] = float32(rng.NormFloat64())
		}
		xhat, scale := make([]float32, s.N*s.C), make([]float32, s.N)
		layerNormStats(xhat, scale, x, s.N, s.C, 1e-5)
		dx := make([]float32, s.N*s.C)
		for i := range dx {
			dx[i] = float32(i % 3)
		}
		wantDx := append([]float32(nil), dx...)
		layerNormBackward(dx, make([]float32, s.C), make([]float32, s.C), dout, xhat, scale, w, s.N, s.C)
		for i := 0; i < s.N; i++ {
			row := x[i*s.C : (i+1)*s.C]
			var mean float64
			for _, v := range row {
				mean += float64(v)
			}
			mean /= float64(s.C)
			var v2 float64
			for j, v := range row {
				d := float64(v) - mean
				if math.Float32bits(xhat[i*s.C+j]) != math.Float32bits(float32(d)) {
					t.Fatalf("%dx%d: centred [%d,%d] = %g, want %g", s.N, s.C, i, j, xhat[i*s.C+j], float32(d))
				}
				v2 += d * d
			}
			if want := float32(math.Sqrt(v2/float64(s.C) + 1e-5)); math.Float32bits(scale[i]) != math.Float32bits(want) {
				t.Fatalf("%dx%d: scale[%d] = %g, want %g", s.N, s.C, i, scale[i], want)
			}
			// The input gradient, from the same centred rows and scales.
			do, h, d := dout[i*s.C:(i+1)*s.C], xhat[i*s.C:(i+1)*s.C], wantDx[i*s.C:(i+1)*s.C]
			dxhat := make([]float32, s.C)
			var m, mh float64
			for j := range do {
				dxhat[j] = do[j] * w[j]
				m += float64(dxhat[j])
				mh += float64(dxhat[j] * h[j])
			}
			m /= float64(s.C)
			mh /= float64(s.C)
			r := 1 / scale[i]
			for j := range d {
				d[j] += r * (dxhat[j] - float32(m) - h[j]*float32(mh))
			}
		}
		for i := range dx {
			if math.Float32bits(dx[i]) != math.Float32bits(wantDx[i]) {
				t.Fatalf("%dx%d: dx[%d] = %g, want %g", s.N, s.C, i, dx[i], wantDx[i])
			}
		}
	}
}

// TestSoftmaxCausalRowsExact: the attention pattern four rows at a time is
// softmaxCausalRow's row by row, bit for bit, on heads of every length mod 4.
func TestSoftmaxCausalRowsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, T := range []int{1, 3, 4, 9, 34} {
		s := make([]float32, T*T)
		for i := range s {
			s[i] = float32(rng.NormFloat64() * 3)
		}
		for i := 0; i < T; i++ {
			for j := i + 1; j < T; j++ {
				s[i*T+j] = float32(math.Inf(-1))
			}
		}
		got, want := make([]float32, T*T), make([]float32, T*T)
		for i := range got {
			got[i], want[i] = float32(math.NaN()), float32(math.NaN())
		}
		softmaxCausalRows(got, s, T, 0, T)
		for i := 0; i < T; i++ {
			softmaxCausalRow(want[i*T:(i+1)*T], s[i*T:(i+1)*T], i)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("T=%d: pattern[%d] = %g, want %g", T, i, got[i], want[i])
			}
		}
	}
}

// TestSoftmaxBackwardRowsExact: the score gradient four rows at a time is
// softmaxBackwardRow's row by row, bit for bit.
func TestSoftmaxBackwardRowsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for _, T := range []int{1, 3, 4, 9, 34} {
		p, d := make([]float32, T*T), make([]float32, T*T)
		for i := range p {
			p[i], d[i] = float32(rng.Float64()), float32(rng.NormFloat64())
		}
		got, want := append([]float32(nil), d...), append([]float32(nil), d...)
		softmaxBackwardRows(p, got, T, 0, T)
		for i := 0; i < T; i++ {
			softmaxBackwardRow(p[i*T:(i+1)*T], want[i*T:(i+1)*T], i)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("T=%d: ds[%d] = %g, want %g", T, i, got[i], want[i])
			}
		}
	}
}
