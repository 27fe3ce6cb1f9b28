package lab

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/internal/stats"
	"github.com/mechinterp/mechinterp/models"
)

// Metrics are what TRL's RewardTrainer logs on an evaluation set, plus the
// calibration and, on the synthetic task, agreement with the true reward.
type Metrics struct {
	Step int `json:"step"`
	// Loss is the objective's mean loss on the set.
	Loss float64 `json:"loss"`
	// Accuracy is the share of comparisons ranked right (score of chosen
	// above rejected; ties count half).
	Accuracy float64 `json:"accuracy"`
	// Margin is the mean of score(chosen) − score(rejected).
	Margin float64 `json:"margin"`
	// Reward statistics of the chosen and rejected samples.
	ChosenMean   float64 `json:"rewards_chosen_mean"`
	ChosenStd    float64 `json:"rewards_chosen_std"`
	RejectedMean float64 `json:"rewards_rejected_mean"`
	RejectedStd  float64 `json:"rewards_rejected_std"`
	// ECE and Brier are the calibration of P(chosen beats rejected) =
	// sigmoid(score(chosen) − score(rejected)) against the labels.
	ECE   float64 `json:"ece"`
	Brier float64 `json:"brier"`
	// On the synthetic task (NaN otherwise): the Spearman correlation of the
	// score with the true reward over every held-out sequence, the ECE
	// against the true probabilities, the mean |predicted − true|
	// probability, and the accuracy of the true reward's own ranking (the
	// ceiling set by label noise).
	Spearman    float64 `json:"spearman_true"`
	ECETrue     float64 `json:"ece_true"`
	MAETrue     float64 `json:"mae_true"`
	AccuracyMax float64 `json:"accuracy_true_reward"`
}

// MarshalJSON writes NaN (the truth metrics of real data) as null.
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	return jsonx.Marshal(plain(m))
}

// Scores are a model's scores of an evaluation set's chosen and rejected
// samples, in the set's order.
type Scores struct {
	Chosen, Rejected []float64
}

// ScoreSet scores every sample of cs: with the reward head, or, for
// imitation, by log-likelihood.
func (pm *PrefModel) ScoreSet(obj Objective, cs []Comparison, chunk int) (Scores, error) {
	ch, rj := make([][]int, len(cs)), make([][]int, len(cs))
	for i, c := range cs {
		ch[i], rj[i] = c.Chosen, c.Rejected
	}
	f := pm.Rewards
	if obj == Imitation {
		f = func(s [][]int, chunk int, _ *models.Options) ([]float64, error) { return pm.LogLikelihoods(s, chunk) }
	}
	a, err := f(ch, chunk, nil)
	if err != nil {
		return Scores{}, err
	}
	b, err := f(rj, chunk, nil)
	if err != nil {
		return Scores{}, err
	}
	return Scores{Chosen: a, Rejected: b}, nil
}

// Evaluation is Metrics with the reliability diagrams they summarise.
type Evaluation struct {
	Metrics
	// Reliability is against the labels; ReliabilityTrue (synthetic task
	// only) against the true probabilities.
	Reliability     ReliabilityDiagram
	ReliabilityTrue *ReliabilityDiagram
}

// Evaluate computes Metrics for scores of cs. loss is the objective's loss
// on the set, computed by the caller (NaN if unknown). bins is the number of
// reliability bins.
func Evaluate(cs []Comparison, s Scores, loss float64, bins int) (Evaluation, error) {
	n := len(cs)
	if n == 0 || len(s.Chosen) != n || len(s.Rejected) != n {
		return Evaluation{}, fmt.Errorf("lab: %d comparisons, %d and %d scores", n, len(s.Chosen), len(s.Rejected))
	}
	m := Metrics{Loss: loss}
	// Calibration as Bai et al. 2022 (figure 9) draw it: each comparison is
	// oriented towards the sample the model prefers, whose predicted
	// probability of winning is sigmoid(|Δ|) ∈ [0.5, 1]; the outcome is
	// whether it was the one chosen (ties: one half).
	pred := make([]float64, n)
	obs := make([]float64, n)
	for i := range cs {
		d := s.Chosen[i] - s.Rejected[i]
		pred[i] = sigmoid(math.Abs(d))
		switch {
		case d > 0:
			obs[i] = 1
		case d == 0:
			obs[i] = 0.5
		}
		m.Accuracy += obs[i]
		m.Margin += d
	}
	m.Accuracy /= float64(n)
	m.Margin /= float64(n)
	m.ChosenMean, m.ChosenStd = meanStd(s.Chosen)
	m.RejectedMean, m.RejectedStd = meanStd(s.Rejected)
	rel, err := Reliability(pred, obs, 0.5, bins)
	if err != nil {
		return Evaluation{}, err
	}
	e := Evaluation{Reliability: rel}
	m.ECE, m.Brier = rel.ECE, Brier(pred, obs)
	m.Spearman, m.ECETrue, m.MAETrue, m.AccuracyMax = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if cs[0].HasTrue {
		truth := make([]float64, 0, 2*n)
		score := make([]float64, 0, 2*n)
		ptrue := make([]float64, n)
		m.AccuracyMax, m.MAETrue = 0, 0
		for i, c := range cs {
			truth = append(truth, c.TrueChosen, c.TrueRejected)
			score = append(score, s.Chosen[i], s.Rejected[i])
			ptrue[i] = c.PTrue // of the chosen sample; orient as pred
			switch d := s.Chosen[i] - s.Rejected[i]; {
			case d < 0:
				ptrue[i] = 1 - c.PTrue
			case d == 0:
				ptrue[i] = 0.5
			}
			m.MAETrue += math.Abs(pred[i] - ptrue[i])
			switch d := c.TrueChosen - c.TrueRejected; {
			case d > 0:
				m.AccuracyMax++
			case d == 0:
				m.AccuracyMax += 0.5
			}
		}
		m.MAETrue /= float64(n)
		m.AccuracyMax /= float64(n)
		m.Spearman = circuits.Spearman(score, truth)
		rt, err := Reliability(pred, ptrue, 0.5, bins)
		if err != nil {
			return Evaluation{}, err
		}
		m.ECETrue = rt.ECE
		e.ReliabilityTrue = &rt
	}
	e.Metrics = m
	return e, nil
}

func meanStd(x []float64) (mean, std float64) {
	mean = stats.Mean(x)
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

// Bin is one bin of a reliability diagram.
type Bin struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Count is the number of predictions in [Lo, Hi) (the last bin closed).
	Count int `json:"count"`
	// Predicted and Observed are the bin's mean predicted probability and
	// mean outcome (NaN when empty).
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
}

// ReliabilityDiagram is predicted probability binned against observed
// frequency, with the expected calibration error.
type ReliabilityDiagram struct {
	Bins []Bin `json:"bins"`
	// ECE = Σ_bins (n_bin/N)·|observed − predicted| (Naeini et al. 2015,
	// Guo et al. 2017).
	ECE float64 `json:"ece"`
	N   int     `json:"n"`
}

// Reliability bins predictions p ∈ [lo,1] into equal-width bins and compares
// each bin's mean prediction with the mean of y, the outcomes (0/1 labels,
// or true probabilities, which give the ECE against the truth). lo is 0 for
// probabilities of a class, 0.5 for comparisons oriented towards the
// favourite.
func Reliability(p, y []float64, lo float64, bins int) (ReliabilityDiagram, error) {
	if bins < 1 {
		return ReliabilityDiagram{}, fmt.Errorf("lab: %d reliability bins", bins)
	}
	if !(lo >= 0 && lo < 1) {
		return ReliabilityDiagram{}, fmt.Errorf("lab: reliability range starts at %g, want [0,1)", lo)
	}
	if len(p) != len(y) || len(p) == 0 {
		return ReliabilityDiagram{}, fmt.Errorf("lab: %d predictions and %d outcomes", len(p), len(y))
	}
	d := ReliabilityDiagram{Bins: make([]Bin, bins), N: len(p)}
	sp, sy := make([]float64, bins), make([]float64, bins)
	for i, v := range p {
		if !(v >= lo && v <= 1) {
			return ReliabilityDiagram{}, fmt.Errorf("lab: prediction %d is %g, outside [%g,1]", i, v, lo)
		}
		k := min(int((v-lo)/(1-lo)*float64(bins)), bins-1)
		d.Bins[k].Count++
		sp[k] += v
		sy[k] += y[i]
	}
	for k := range d.Bins {
		b := &d.Bins[k]
		b.Lo, b.Hi = lo+(1-lo)*float64(k)/float64(bins), lo+(1-lo)*float64(k+1)/float64(bins)
		if b.Count == 0 {
			b.Predicted, b.Observed = math.NaN(), math.NaN()
			continue
		}
		b.Predicted, b.Observed = sp[k]/float64(b.Count), sy[k]/float64(b.Count)
		d.ECE += float64(b.Count) / float64(len(p)) * math.Abs(b.Observed-b.Predicted)
	}
	return d, nil
}

// Brier is the mean squared error of probabilities p against outcomes y
// (Brier 1950).
func Brier(p, y []float64) float64 {
	s := 0.0
	for i := range p {
		s += (p[i] - y[i]) * (p[i] - y[i])
	}
	return s / float64(len(p))
}
