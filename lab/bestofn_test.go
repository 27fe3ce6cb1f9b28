package lab

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
)

// TestKLBestOfN checks log n − (n−1)/n against best-of-n on a small
// categorical policy two ways: the exact distribution of the winner, and a
// Monte-Carlo estimate of it from drawn best-of-n samples. With many
// outcomes of small probability the exact KL approaches the formula from
// below (ties in a discrete policy only lower it).
func TestKLBestOfN(t *testing.T) {
	const K = 400
	r := seed.New(3)
	p, rew := make([]float64, K), make([]float64, K)
	sum := 0.0
	for i := range p {
		p[i] = 0.5 + r.Float64()
		sum += p[i]
		rew[i] = r.NormFloat64()
	}
	cdf := make([]float64, K)
	acc := 0.0
	for i := range p {
		p[i] /= sum
		acc += p[i]
		cdf[i] = acc
	}
	draw := func() int {
		u := r.Float64()
		for i, c := range cdf {
			if u < c {
				return i
			}
		}
		return K - 1
	}
	for _, n := range []int{1, 2, 4, 16} {
		exact := KL(CategoricalBestOfN(p, rew, n), p)
		formula := KLBestOfN(n)
		if exact > formula+1e-9 || formula-exact > 0.02 {
			t.Errorf("n=%d: exact KL %.4f, formula %.4f", n, exact, formula)
		}
		// Monte Carlo: the winner's frequencies.
		const draws = 200000
		q := make([]float64, K)
		for d := 0; d < draws; d++ {
			best := draw()
			for j := 1; j < n; j++ {
				if c := draw(); rew[c] > rew[best] {
					best = c
				}
			}
			q[best]++
		}
		// The plug-in KL of a histogram is biased upwards by about
		// (K−1)/(2·draws) ≈ 0.001; compare the winner's mean reward instead,
		// which is unbiased, and the KL loosely.
		mcMean, exMean := 0.0, 0.0
		qe := CategoricalBestOfN(p, rew, n)
		for i := range q {
			q[i] /= draws
			mcMean += q[i] * rew[i]
			exMean += qe[i] * rew[i]
		}
		if math.Abs(mcMean-exMean) > 0.01 {
			t.Errorf("n=%d: Monte-Carlo mean reward %.4f, exact %.4f", n, mcMean, exMean)
		}
		if mc := KL(q, p); math.Abs(mc-formula) > 0.03 {
			t.Errorf("n=%d: Monte-Carlo KL %.4f, formula %.4f", n, mc, formula)
		}
	}
	if KLBestOfN(1) != 0 {
		t.Error("best-of-1 is the policy: KL 0")
	}
}

// TestExpectedBestBruteForce compares the order-statistics estimator with
// an enumeration of every n-subset of a small pool, ties included.
func TestExpectedBestBruteForce(t *testing.T) {
	key := []float64{0.3, -1, 2, 0.3, 5, 1}
	y := []float64{1, 2, 3, 4, 5, 6}
	N := len(key)
	for n := 1; n <= N; n++ {
		sum, count := 0.0, 0
		for mask := 0; mask < 1<<N; mask++ {
			var members []int
			for i := 0; i < N; i++ {
				if mask&(1<<i) != 0 {
					members = append(members, i)
				}
			}
			if len(members) != n {
				continue
			}
			// The best key; among tied best keys, y's mean over every sample
			// of that key in the pool (the estimator's tie rule).
			best := members[0]
			for _, i := range members {
				if key[i] > key[best] {
					best = i
				}
			}
			s, c := 0.0, 0
			for i := range key {
				if key[i] == key[best] {
					s += y[i]
					c++
				}
			}
			sum += s / float64(c)
			count++
		}
		if got, want := expectedBest(key, y, n), sum/float64(count); math.Abs(got-want) > 1e-12 {
			t.Errorf("n=%d: %v, brute force %v", n, got, want)
		}
	}
}

func TestBestOfNRuns(t *testing.T) {
	task := SyntheticConfig{Seed: 2}.WithDefaults()
	policy := tinyModel(t, task.Vocab, task.SeqLen())
	pm := NewPrefModel(tinyModel(t, task.Vocab, task.SeqLen()), 3)
	res, err := BestOfN(policy, pm, BestOfNConfig{Task: task, Prompts: 3, Samples: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 5 || res.Points[4].N != 16 {
		t.Fatalf("points %+v", res.Points)
	}
	for k := 1; k < len(res.Points); k++ {
		a, b := res.Points[k-1], res.Points[k]
		if b.Proxy < a.Proxy-1e-9 || b.OracleTrue < a.OracleTrue-1e-9 {
			t.Errorf("n=%d: proxy %.4f or oracle %.4f fell from n=%d", b.N, b.Proxy, b.OracleTrue, a.N)
		}
		if b.SqrtKL <= a.SqrtKL {
			t.Errorf("sqrt KL not increasing at n=%d", b.N)
		}
	}
	again, _ := BestOfN(policy, pm, BestOfNConfig{Task: task, Prompts: 3, Samples: 16, Seed: 1})
	if again.Points[4] != res.Points[4] {
		t.Error("same seed, different result")
	}
	big := models.Config{NLayers: 1, NHeads: 1, DModel: 4, NCtx: 17, DVocab: 5}
	small, _ := models.New(big)
	if _, err := BestOfN(small, pm, BestOfNConfig{Task: task, Prompts: 1, Samples: 2}); err == nil {
		t.Error("a policy vocabulary smaller than the task's: want an error")
	}
}
