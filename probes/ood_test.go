package probes

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"gonum.org/v1/gonum/mat"
)

func TestAUROCHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		neg, pos []float64
		want     float64
	}{
		{"separated", []float64{1, 2}, []float64{3, 4}, 1},
		{"reversed", []float64{3, 4}, []float64{1, 2}, 0},
		// pairs (neg,pos): (1,1) tie ½, (1,2) 1, (2,1) 0, (2,2) ½ → 2/4
		{"ties", []float64{1, 2}, []float64{1, 2}, 0.5},
		// neg {0,1,1}, pos {1,3}: pos 1 beats 0, ties 1,1 → 1+½+½ = 2;
		// pos 3 beats all → 3; total 5 of 6
		{"mixed", []float64{0, 1, 1}, []float64{1, 3}, 5.0 / 6},
		{"all equal", []float64{7, 7, 7}, []float64{7}, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AUROC(tc.neg, tc.pos); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("AUROC = %v, want %v", got, tc.want)
			}
			// The area under ROC's points (trapezoids, which count ties one
			// half) must agree.
			roc := ROC(tc.neg, tc.pos)
			area := 0.0
			for i := 1; i < len(roc); i++ {
				area += (roc[i].FPR - roc[i-1].FPR) * (roc[i].TPR + roc[i-1].TPR) / 2
			}
			if math.Abs(area-tc.want) > 1e-12 {
				t.Errorf("area under ROC = %v, want %v", area, tc.want)
			}
			if last := roc[len(roc)-1]; last.FPR != 1 || last.TPR != 1 {
				t.Errorf("ROC ends at %+v", last)
			}
		})
	}
	if !math.IsNaN(AUROC(nil, []float64{1})) {
		t.Error("AUROC without negatives should be NaN")
	}
}

func TestFPRAtTPR(t *testing.T) {
	pos := make([]float64, 20) // 1..20: the 19 largest (≥ 2) are 95%
	for i := range pos {
		pos[i] = float64(i + 1)
	}
	neg := []float64{0, 1, 1.5, 2, 2.5, 30}
	if got, want := FPRAtTPR(neg, pos, 0.95), 3.0/6; got != want {
		t.Errorf("FPR@95 = %v, want %v (threshold 2 flags 2, 2.5 and 30)", got, want)
	}
	if got := FPRAtTPR(neg, pos, 1); got != 5.0/6 {
		t.Errorf("FPR@100 = %v, want 5/6 (threshold 1)", got)
	}
}

// gaussianRows draws n rows of N(mu, A Aᵀ).
func gaussianRows(r *seed.Rand, n int, mu []float64, A *mat.Dense) [][]float64 {
	d := len(mu)
	out := make([][]float64, n)
	z := mat.NewVecDense(d, nil)
	var x mat.VecDense
	for i := range out {
		for j := 0; j < d; j++ {
			z.SetVec(j, r.NormFloat64())
		}
		x.MulVec(A, z)
		row := make([]float64, d)
		for j := range row {
			row[j] = mu[j] + x.AtVec(j)
		}
		out[i] = row
	}
	return out
}

// TestMahalanobisClosedForm: with Σ fit to many draws of N(μ,Σ), the squared
// distance of a fresh draw is χ²_d (mean d, variance 2d), and of a draw
// shifted by δ it is noncentral χ²_d(λ = δᵀΣ⁻¹δ): mean d+λ, variance 2d+4λ.
func TestMahalanobisClosedForm(t *testing.T) {
	const d, n = 6, 40000
	r := seed.New(1)
	A := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			A.Set(i, j, r.NormFloat64())
		}
	}
	mu := []float64{1, -2, 0, 3, 0.5, 0}
	g, err := FitGaussian(gaussianRows(&r, n, mu, A), 0)
	if err != nil {
		t.Fatal(err)
	}
	shift := make([]float64, d)
	for i := range shift {
		shift[i] = mu[i] + A.At(i, 0) // δ = A e₀: λ = δᵀ(AAᵀ)⁻¹δ = 1
	}
	for _, tc := range []struct {
		name   string
		mean   []float64
		lambda float64
	}{
		{"central", mu, 0},
		{"shifted", shift, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := gaussianRows(&r, n, tc.mean, A)
			var s, s2 float64
			for _, x := range xs {
				v := g.Distance(x)
				s += v
				s2 += v * v
			}
			mean := s / n
			vr := s2/n - mean*mean
			wm, wv := d+tc.lambda, 2*d+4*tc.lambda
			// Standard error of the mean is √(wv/n) ≈ 0.02; allow 5 of them
			// plus the fit's own error.
			if math.Abs(mean-wm) > 0.15 {
				t.Errorf("mean distance %.3f, want %.3f", mean, wm)
			}
			if math.Abs(vr-wv)/wv > 0.08 {
				t.Errorf("variance %.3f, want %.3f", vr, wv)
			}
		})
	}
}

// TestRelativeBeatsPlain plants Ren et al. 2021's failure of the plain
// distance: in- and out-of-distribution differ in two discriminative
// directions, while test inputs of both kinds vary more than the fit saw
// in eighteen low-variance directions that the background data shares. The
// plain distance is swamped by those directions; subtracting the
// background's distance cancels them.
func TestRelativeBeatsPlain(t *testing.T) {
	const d = 20
	r := seed.New(2)
	diag := func(v ...float64) *mat.Dense {
		A := mat.NewDense(d, d, nil)
		for i := 0; i < d; i++ {
			A.Set(i, i, math.Sqrt(v[min(i, len(v)-1)]))
		}
		return A
	}
	lowVar := func(semantic, rest float64) *mat.Dense {
		v := make([]float64, d)
		for i := range v {
			v[i] = rest
			if i < 2 {
				v[i] = semantic
			}
		}
		return diag(v...)
	}
	zero := make([]float64, d)
	shifted := make([]float64, d)
	shifted[0] = 1.5
	fitIn := gaussianRows(&r, 4000, zero, lowVar(0.2, 0.05))
	bg := gaussianRows(&r, 4000, zero, lowVar(1, 0.05))
	testIn := gaussianRows(&r, 1000, zero, lowVar(0.2, 0.3))
	testOut := gaussianRows(&r, 1000, shifted, lowVar(0.2, 0.3))
	s, err := FitOOD(fitIn, bg, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	// Five labelled outliers, drawn apart from the test set.
	if err := s.ExposeOutliers(gaussianRows(&r, 5, shifted, lowVar(0.2, 0.3))); err != nil {
		t.Fatal(err)
	}
	auroc := map[OODMethod]float64{}
	for _, m := range OODMethods {
		var in, out []float64
		for _, x := range testIn {
			v, err := s.Score(m, x)
			if err != nil {
				t.Fatal(err)
			}
			in = append(in, v)
		}
		for _, x := range testOut {
			v, _ := s.Score(m, x)
			out = append(out, v)
		}
		auroc[m] = AUROC(in, out)
	}
	t.Logf("AUROC %v", auroc)
	if auroc[RelativeMahalanobis] < auroc[Mahalanobis]+0.1 {
		t.Errorf("relative AUROC %.3f does not beat plain %.3f", auroc[RelativeMahalanobis], auroc[Mahalanobis])
	}
	if auroc[OutlierExposure] < auroc[Mahalanobis]+0.1 {
		t.Errorf("outlier exposure AUROC %.3f does not beat plain %.3f", auroc[OutlierExposure], auroc[Mahalanobis])
	}
	if auroc[RelativeMahalanobis] < 0.85 {
		t.Errorf("relative AUROC %.3f, want ≥ 0.85", auroc[RelativeMahalanobis])
	}
}

func TestOODErrors(t *testing.T) {
	if _, err := FitGaussian([][]float64{{1, 2}}, 0); err == nil {
		t.Error("one row: want an error")
	}
	if _, err := FitGaussian([][]float64{{1, 2}, {1, 2}, {1, 2}}, 0); err == nil {
		t.Error("constant rows without shrinkage: want a singular-covariance error")
	}
	if _, err := FitGaussian([][]float64{{1, 2}, {1, 3}}, 2); err == nil {
		t.Error("shrinkage 2: want an error")
	}
	s, err := FitOOD([][]float64{{1, 2}, {2, 1}, {0, 0}}, nil, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Score(RelativeMahalanobis, []float64{1, 1}); err == nil {
		t.Error("relative without background: want an error")
	}
	if _, err := s.Score(OutlierExposure, []float64{1, 1}); err == nil {
		t.Error("outlier exposure without outliers: want an error")
	}
	if err := s.ExposeOutliers([][]float64{{1, 2, 3}}); err == nil {
		t.Error("an outlier of the wrong width: want an error")
	}
	if _, err := s.Score(Mahalanobis, []float64{1}); err == nil {
		t.Error("wrong width: want an error")
	}
}
