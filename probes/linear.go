package probes

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mechinterp/mechinterp/tensor"
)

// LinearProbeOptions configure TrainLinearProbe. Zero fields take defaults.
type LinearProbeOptions struct {
	// Classes is the number of classes; 0 means the largest label + 1.
	Classes int `json:"classes"`
	// TestFraction is the share of rows held out for the test accuracy
	// (default 0.2; at least one row stays in each split).
	TestFraction float64 `json:"test_fraction"`
	// L2 is the weight of (1/2)·||W||² added to the mean cross-entropy
	// (default 1e-3); the bias is not penalized. Negative means none.
	L2 float64 `json:"l2"`
	// Steps is the number of full-batch Adam steps (default 500); LR their
	// learning rate (default 0.05).
	Steps int     `json:"steps"`
	LR    float64 `json:"lr"`
	// Seed draws the held-out split.
	Seed uint64 `json:"seed"`
}

func (o LinearProbeOptions) withDefaults() LinearProbeOptions {
	if o.TestFraction == 0 {
		o.TestFraction = 0.2
	}
	if o.L2 == 0 {
		o.L2 = 1e-3
	}
	if o.L2 < 0 {
		o.L2 = 0
	}
	if o.Steps == 0 {
		o.Steps = 500
	}
	if o.LR == 0 {
		o.LR = 0.05
	}
	return o
}

// LinearProbe is a multiclass logistic regression (softmax) on activations:
// logits = ((x - Mean)/Std)·W + B. Inputs are standardized with the training
// split's statistics so that one learning rate and one L2 suit any layer.
type LinearProbe struct {
	Classes int       `json:"classes"`
	Dim     int       `json:"dim"`
	W       []float64 `json:"w"` // [Dim, Classes]
	B       []float64 `json:"b"` // [Classes]
	Mean    []float64 `json:"mean"`
	Std     []float64 `json:"std"`
}

// ProbeFit reports how a probe fit: accuracy and mean cross-entropy on the
// training and held-out rows, and the accuracy of always answering the
// commonest training class on the held-out rows, so that a reader sees what
// is above chance.
type ProbeFit struct {
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	TrainLoss     float64 `json:"train_loss"`
	TestLoss      float64 `json:"test_loss"`
	Chance        float64 `json:"chance"`
	NTrain        int     `json:"n_train"`
	NTest         int     `json:"n_test"`
	Steps         int     `json:"steps"`
	// TestRows are the indices of the held-out rows of X.
	TestRows []int `json:"test_rows"`
}

// TrainLinearProbe fits a LinearProbe to activations X [N,d] (for example a
// cached residual stream, one row per token) and labels y [N], holding out a
// seeded random share of the rows, and returns the probe and its fit. It
// minimizes mean cross-entropy + (L2/2)·||W||² by full-batch Adam from zero
// weights, so the same inputs give the same probe.
func TrainLinearProbe(X *tensor.Tensor, y []int, o LinearProbeOptions) (*LinearProbe, *ProbeFit, error) {
	o = o.withDefaults()
	if X == nil || len(X.Shape) != 2 {
		return nil, nil, fmt.Errorf("probes: linear probe: activations must be [rows, features], got %s", shapeOf(X))
	}
	N, d := X.Shape[0], X.Shape[1]
	switch {
	case len(y) != N:
		return nil, nil, fmt.Errorf("probes: linear probe: %d labels for %d rows", len(y), N)
	case N < 2 || d == 0:
		return nil, nil, fmt.Errorf("probes: linear probe: need at least 2 rows and 1 feature, got %s", shapeOf(X))
	case !(o.TestFraction > 0 && o.TestFraction < 1):
		return nil, nil, fmt.Errorf("probes: linear probe: test fraction must be in (0, 1), got %g", o.TestFraction)
	case o.Steps < 0 || !(o.LR > 0):
		return nil, nil, fmt.Errorf("probes: linear probe: steps %d and learning rate %g must be positive", o.Steps, o.LR)
	}
	K := o.Classes
	for i, c := range y {
		if c < 0 || (o.Classes > 0 && c >= o.Classes) {
			return nil, nil, fmt.Errorf("probes: linear probe: label %d of row %d is outside [0, %d)", c, i, max(o.Classes, 1))
		}
		if o.Classes == 0 {
			K = max(K, c+1)
		}
	}
	if K < 2 {
		return nil, nil, errors.New("probes: linear probe: need at least 2 classes")
	}
	for i, v := range X.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("probes: linear probe: activation %d (row %d) is %v", i%d, i/d, v)
		}
	}

	// Seeded split.
	perm := rand.New(rand.NewPCG(o.Seed, 0x70726f6265)).Perm(N) // "probe"
	nTest := min(max(int(math.Round(o.TestFraction*float64(N))), 1), N-1)
	testRows, trainRows := append([]int(nil), perm[:nTest]...), perm[nTest:]

	p := &LinearProbe{Classes: K, Dim: d, W: make([]float64, d*K), B: make([]float64, K), Mean: make([]float64, d), Std: make([]float64, d)}
	for _, r := range trainRows {
		for j := range d {
			p.Mean[j] += float64(X.Data[r*d+j])
		}
	}
	for j := range d {
		p.Mean[j] /= float64(len(trainRows))
	}
	for _, r := range trainRows {
		for j := range d {
			dv := float64(X.Data[r*d+j]) - p.Mean[j]
			p.Std[j] += dv * dv
		}
	}
	for j := range d {
		p.Std[j] = math.Sqrt(p.Std[j] / float64(len(trainRows)))
		if p.Std[j] < 1e-12 {
			p.Std[j] = 1 // a constant feature carries nothing; keep it finite
		}
	}
	Xtr, ytr := p.standardize(X, trainRows), pick(y, trainRows)
	Xte, yte := p.standardize(X, testRows), pick(y, testRows)

	// Full-batch Adam (β = 0.9, 0.999).
	params := append(append([]float64(nil), p.W...), p.B...)
	m1, m2 := make([]float64, len(params)), make([]float64, len(params))
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for step := 1; step <= o.Steps; step++ {
		_, gW, gB := probeLossGrad(Xtr, ytr, params[:d*K], params[d*K:], d, K, o.L2)
		g := append(gW, gB...)
		for i := range params {
			m1[i] = b1*m1[i] + (1-b1)*g[i]
			m2[i] = b2*m2[i] + (1-b2)*g[i]*g[i]
			mh := m1[i] / (1 - math.Pow(b1, float64(step)))
			vh := m2[i] / (1 - math.Pow(b2, float64(step)))
			params[i] -= o.LR * mh / (math.Sqrt(vh) + eps)
		}
	}
	copy(p.W, params[:d*K])
	copy(p.B, params[d*K:])

	fit := &ProbeFit{NTrain: len(trainRows), NTest: nTest, Steps: o.Steps, TestRows: testRows}
	fit.TrainLoss, _, _ = probeLossGrad(Xtr, ytr, p.W, p.B, d, K, 0)
	fit.TestLoss, _, _ = probeLossGrad(Xte, yte, p.W, p.B, d, K, 0)
	fit.TrainAccuracy = p.accuracy(Xtr, ytr)
	fit.TestAccuracy = p.accuracy(Xte, yte)
	counts := make([]int, K)
	for _, c := range ytr {
		counts[c]++
	}
	common := 0
	for c := range counts {
		if counts[c] > counts[common] {
			common = c
		}
	}
	for _, c := range yte {
		if c == common {
			fit.Chance++
		}
	}
	fit.Chance /= float64(nTest)
	return p, fit, nil
}

func pick(y []int, rows []int) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = y[r]
	}
	return out
}

// standardize returns the given rows of X, standardized, as float64 [n,d].
func (p *LinearProbe) standardize(X *tensor.Tensor, rows []int) []float64 {
	d := p.Dim
	out := make([]float64, len(rows)*d)
	for i, r := range rows {
		for j := range d {
			out[i*d+j] = (float64(X.Data[r*d+j]) - p.Mean[j]) / p.Std[j]
		}
	}
	return out
}

// probeLossGrad returns mean cross-entropy + (l2/2)||W||² of softmax
// regression on standardized rows X [n,d] and its gradients.
func probeLossGrad(X []float64, y []int, W, B []float64, d, K int, l2 float64) (loss float64, gW, gB []float64) {
	n := len(y)
	gW, gB = make([]float64, d*K), make([]float64, K)
	z := make([]float64, K)
	for i := range n {
		x := X[i*d : (i+1)*d]
		copy(z, B)
		for j, xv := range x {
			for k := range K {
				z[k] += xv * W[j*K+k]
			}
		}
		mx := z[0]
		for _, v := range z {
			mx = max(mx, v)
		}
		var sum float64
		for k := range z {
			z[k] = math.Exp(z[k] - mx)
			sum += z[k]
		}
		loss += math.Log(sum) - math.Log(z[y[i]])
		for k := range z {
			g := z[k] / sum
			if k == y[i] {
				g--
			}
			g /= float64(n)
			gB[k] += g
			for j, xv := range x {
				gW[j*K+k] += g * xv
			}
		}
	}
	loss /= float64(n)
	for i, w := range W {
		loss += l2 / 2 * w * w
		gW[i] += l2 * w
	}
	return loss, gW, gB
}

func (p *LinearProbe) predictStd(x []float64) int {
	best, bestZ := 0, math.Inf(-1)
	for k := range p.Classes {
		z := p.B[k]
		for j, xv := range x {
			z += xv * p.W[j*p.Classes+k]
		}
		if z > bestZ {
			best, bestZ = k, z
		}
	}
	return best
}

func (p *LinearProbe) accuracy(X []float64, y []int) float64 {
	right := 0
	for i := range y {
		if p.predictStd(X[i*p.Dim:(i+1)*p.Dim]) == y[i] {
			right++
		}
	}
	return float64(right) / float64(len(y))
}

// Predict returns the most likely class of each row of X [N, Dim].
func (p *LinearProbe) Predict(X *tensor.Tensor) ([]int, error) {
	if X == nil || len(X.Shape) != 2 || X.Shape[1] != p.Dim {
		return nil, fmt.Errorf("probes: linear probe of %d features: activations have shape %s", p.Dim, shapeOf(X))
	}
	rows := make([]int, X.Shape[0])
	for i := range rows {
		rows[i] = i
	}
	Xs := p.standardize(X, rows)
	out := make([]int, len(rows))
	for i := range rows {
		out[i] = p.predictStd(Xs[i*p.Dim : (i+1)*p.Dim])
	}
	return out, nil
}

// Accuracy is the share of rows of X whose predicted class is y's.
func (p *LinearProbe) Accuracy(X *tensor.Tensor, y []int) (float64, error) {
	pred, err := p.Predict(X)
	if err != nil {
		return 0, err
	}
	if len(y) != len(pred) {
		return 0, fmt.Errorf("probes: linear probe: %d labels for %d rows", len(y), len(pred))
	}
	right := 0
	for i := range y {
		if pred[i] == y[i] {
			right++
		}
	}
	return float64(right) / float64(len(y)), nil
}
