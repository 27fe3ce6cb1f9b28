package probes

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/mechinterp/mechinterp/internal/stats"
)

// OODMethod names an out-of-distribution score on activations.
type OODMethod string

// The scores of OODScorer.Score (docs/REFERENCE.md, "Out-of-distribution
// detection"). Each is larger for inputs that look less in-distribution.
const (
	// Mahalanobis is the squared distance to the in-distribution Gaussian,
	// (x−μ)ᵀΣ⁻¹(x−μ) (Lee et al. 2018).
	Mahalanobis OODMethod = "mahalanobis"
	// RelativeMahalanobis subtracts the squared distance under a background
	// Gaussian fit to all training inputs (Ren et al. 2021).
	RelativeMahalanobis OODMethod = "relative"
	// SimplifiedRelative subtracts the squared distance under a Gaussian
	// with the in-distribution mean and the diagonal of its covariance: no
	// background data needed. This is our reading of Bai et al. 2022's
	// simplified relative variant (section 5.4).
	SimplifiedRelative OODMethod = "simplified"
	// OutlierExposure uses a handful of labelled outliers (few-shot
	// outlier exposure, Bai et al. 2022 section 5.4): it subtracts the
	// squared distance to the outliers' mean under the in-distribution
	// covariance, MD_in(x) − MD_outliers(x), a linear discriminant between
	// the in-distribution Gaussian and one centred on the outliers.
	OutlierExposure OODMethod = "outlier_exposure"
)

// OODMethods lists the methods in the order reports show them.
var OODMethods = []OODMethod{Mahalanobis, RelativeMahalanobis, SimplifiedRelative, OutlierExposure}

// Gaussian is a multivariate normal fit to activations, kept as its mean
// and the Cholesky factor of its (shrunk) covariance.
type Gaussian struct {
	Mean []float64
	chol mat.Cholesky
}

// FitGaussian fits the mean and the maximum-likelihood covariance S (divided
// by N) of the rows of x, shrunk towards a scaled identity:
//
//	Σ = (1−λ)·S + λ·(tr S/d)·I
//
// with λ = shrinkage ∈ [0,1] (Ledoit & Wolf's target with a fixed weight),
// which keeps Σ invertible when N ≤ d or some directions never vary.
func FitGaussian(x [][]float64, shrinkage float64) (*Gaussian, error) {
	mean, S, err := moments(x)
	if err != nil {
		return nil, err
	}
	return newGaussian(mean, S, shrinkage, false)
}

func moments(x [][]float64) ([]float64, *mat.SymDense, error) {
	if len(x) < 2 {
		return nil, nil, fmt.Errorf("probes: fitting a Gaussian needs at least 2 rows, got %d", len(x))
	}
	d := len(x[0])
	if d == 0 {
		return nil, nil, errors.New("probes: fitting a Gaussian to empty rows")
	}
	mean := make([]float64, d)
	for i, r := range x {
		if len(r) != d {
			return nil, nil, fmt.Errorf("probes: row %d has %d values, row 0 has %d", i, len(r), d)
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("probes: row %d holds %g", i, v)
			}
			mean[j] += v
		}
	}
	n := float64(len(x))
	for j := range mean {
		mean[j] /= n
	}
	c := mat.NewDense(len(x), d, nil)
	for i, r := range x {
		for j, v := range r {
			c.Set(i, j, v-mean[j])
		}
	}
	S := mat.NewSymDense(d, nil)
	S.SymOuterK(1/n, c.T()) // Σ = CᵀC/N, C the centred rows
	return mean, S, nil
}

// newGaussian shrinks S and factors it; diag keeps only its diagonal.
func newGaussian(mean []float64, S *mat.SymDense, shrinkage float64, diag bool) (*Gaussian, error) {
	if !(shrinkage >= 0 && shrinkage <= 1) {
		return nil, fmt.Errorf("probes: shrinkage %g outside [0,1]", shrinkage)
	}
	d := len(mean)
	tr := 0.0
	for i := 0; i < d; i++ {
		tr += S.At(i, i)
	}
	sigma := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			if diag && i != j {
				continue
			}
			v := (1 - shrinkage) * S.At(i, j)
			if i == j {
				v += shrinkage * tr / float64(d)
			}
			sigma.SetSym(i, j, v)
		}
	}
	g := &Gaussian{Mean: mean}
	if !g.chol.Factorize(sigma) {
		return nil, fmt.Errorf("probes: the covariance of %d dimensions is singular (raise the shrinkage above %g)", d, shrinkage)
	}
	return g, nil
}

// Distance is the squared Mahalanobis distance (x−μ)ᵀΣ⁻¹(x−μ).
func (g *Gaussian) Distance(x []float64) float64 {
	d := len(g.Mean)
	diff := mat.NewVecDense(d, nil)
	for i := range g.Mean {
		diff.SetVec(i, x[i]-g.Mean[i])
	}
	// With Σ = LLᵀ, the distance is |L⁻¹(x−μ)|².
	var L mat.TriDense
	g.chol.LTo(&L)
	var z mat.VecDense
	if err := z.SolveVec(&L, diff); err != nil {
		return math.NaN()
	}
	return mat.Dot(&z, &z)
}

// OODScorer holds the Gaussians the scores need.
type OODScorer struct {
	In, Diag   *Gaussian
	Background *Gaussian // nil without background data
	Outliers   *Gaussian // nil until ExposeOutliers
	Shrinkage  float64
}

// ExposeOutliers adds a Gaussian with the outliers' mean and the
// in-distribution covariance, for the OutlierExposure score.
func (s *OODScorer) ExposeOutliers(x [][]float64) error {
	if len(x) == 0 {
		return errors.New("probes: outlier exposure needs at least one outlier")
	}
	d := len(s.In.Mean)
	mean := make([]float64, d)
	for i, r := range x {
		if len(r) != d {
			return fmt.Errorf("probes: outlier %d has %d values, in-distribution %d", i, len(r), d)
		}
		for j, v := range r {
			mean[j] += v / float64(len(x))
		}
	}
	s.Outliers = &Gaussian{Mean: mean, chol: s.In.chol}
	return nil
}

// FitOOD fits the in-distribution Gaussian to in, its diagonal twin, and
// (when background is not empty) the background Gaussian.
func FitOOD(in, background [][]float64, shrinkage float64) (*OODScorer, error) {
	mean, S, err := moments(in)
	if err != nil {
		return nil, fmt.Errorf("in-distribution: %w", err)
	}
	s := &OODScorer{Shrinkage: shrinkage}
	if s.In, err = newGaussian(mean, S, shrinkage, false); err != nil {
		return nil, err
	}
	if s.Diag, err = newGaussian(mean, S, shrinkage, true); err != nil {
		return nil, err
	}
	if len(background) > 0 {
		if len(background[0]) != len(mean) {
			return nil, fmt.Errorf("probes: background rows have %d values, in-distribution %d", len(background[0]), len(mean))
		}
		if s.Background, err = FitGaussian(background, shrinkage); err != nil {
			return nil, fmt.Errorf("background: %w", err)
		}
	}
	return s, nil
}

// Score is method's score of one activation vector x.
func (s *OODScorer) Score(method OODMethod, x []float64) (float64, error) {
	if len(x) != len(s.In.Mean) {
		return 0, fmt.Errorf("probes: scoring %d values with a Gaussian of %d", len(x), len(s.In.Mean))
	}
	switch method {
	case Mahalanobis:
		return s.In.Distance(x), nil
	case RelativeMahalanobis:
		if s.Background == nil {
			return 0, errors.New("probes: the relative Mahalanobis distance needs background data")
		}
		return s.In.Distance(x) - s.Background.Distance(x), nil
	case SimplifiedRelative:
		return s.In.Distance(x) - s.Diag.Distance(x), nil
	case OutlierExposure:
		if s.Outliers == nil {
			return 0, errors.New("probes: outlier exposure needs labelled outliers")
		}
		return s.In.Distance(x) - s.Outliers.Distance(x), nil
	}
	return 0, fmt.Errorf("probes: unknown OOD method %q (want mahalanobis, relative, simplified or outlier_exposure)", method)
}

// AUROC is the area under the ROC curve of scores that should be larger
// for the positives (out-of-distribution) than for the negatives: the
// probability that a random positive outscores a random negative, ties
// counting one half (the Mann-Whitney statistic).
func AUROC(neg, pos []float64) float64 {
	if len(neg) == 0 || len(pos) == 0 {
		return math.NaN()
	}
	r := stats.Ranks(append(append([]float64(nil), neg...), pos...))
	rankSum := 0.0 // of the positives
	for _, v := range r[len(neg):] {
		rankSum += v
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// FPRAtTPR is the share of negatives flagged at the highest threshold
// that flags at least a share tpr of the positives (score ≥ threshold).
func FPRAtTPR(neg, pos []float64, tpr float64) float64 {
	if len(neg) == 0 || len(pos) == 0 {
		return math.NaN()
	}
	p := append([]float64(nil), pos...)
	sort.Sort(sort.Reverse(sort.Float64Slice(p)))
	k := int(math.Ceil(tpr*float64(len(p)))) - 1 // the k+1 largest positives reach tpr
	thr := p[max(k, 0)]
	fp := 0
	for _, v := range neg {
		if v >= thr {
			fp++
		}
	}
	return float64(fp) / float64(len(neg))
}

// ROCPoint is one point of an ROC curve.
type ROCPoint struct {
	FPR float64 `json:"fpr"`
	TPR float64 `json:"tpr"`
}

// ROC is the ROC curve: one point per distinct threshold, from (0,0) to
// (1,1), positives flagged when score ≥ threshold.
func ROC(neg, pos []float64) []ROCPoint {
	type sv struct {
		v   float64
		pos bool
	}
	all := make([]sv, 0, len(neg)+len(pos))
	for _, v := range neg {
		all = append(all, sv{v, false})
	}
	for _, v := range pos {
		all = append(all, sv{v, true})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].v > all[b].v })
	out := []ROCPoint{{0, 0}}
	tp, fp := 0, 0
	for i := 0; i < len(all); {
		j := i
		for ; j < len(all) && all[j].v == all[i].v; j++ {
			if all[j].pos {
				tp++
			} else {
				fp++
			}
		}
		out = append(out, ROCPoint{FPR: float64(fp) / float64(len(neg)), TPR: float64(tp) / float64(len(pos))})
		i = j
	}
	return out
}
