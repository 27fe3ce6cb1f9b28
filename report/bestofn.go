package report

import (
	"errors"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/lab"
	"github.com/mechinterp/mechinterp/viz"
)

// BestOfN builds the page of a best-of-n experiment (`mechinterp bestofn`):
// the preference model's reward and the true reward of the sample best-of-n
// keeps, against sqrt(KL(best-of-n ‖ policy)) (Bai et al. 2022, figure 5's
// axis; Gao et al. 2022's overoptimisation).
func BestOfN(res *lab.BestOfNResult) (*viz.Report, error) {
	if res == nil || len(res.Points) == 0 {
		return nil, errors.New("best-of-n report: no points")
	}
	c := res.Config
	r := viz.NewReport("Best-of-n: reward against sqrt(KL)")
	r.Section("", fmt.Sprintf("Policy %s, preference model %s. %d held-out prompts of the synthetic task (BOS and the first %d tokens), "+
		"%d continuations each at temperature %g (top-k %d, top-p %g; 0 means off), seed %d. "+
		"Best-of-n keeps the continuation the preference model scores highest; its KL from the policy is log n − (n−1)/n. "+
		"Rewards are exact expectations over n-subsets of each prompt's samples, averaged over prompts.",
		orDefault(res.Policy, "(in memory)"), orDefault(res.PM, "(in memory)"), c.Prompts, c.Task.Len/2, c.Samples, temperatureOf(c.Temperature), c.TopK, c.TopP, c.Seed))
	// Gains over the policy (n = 1): a Bradley-Terry preference model's
	// reward is defined up to a constant, and with the labeller's beta = 1
	// a calibrated one's differences are the true reward's, so gains of the
	// two share one scale.
	p0 := res.Points[0]
	var x, proxy, truth, oracle []float64
	var labels []string
	for _, p := range res.Points {
		x = append(x, p.SqrtKL)
		proxy, truth, oracle = append(proxy, p.Proxy-p0.Proxy), append(truth, p.True-p0.True), append(oracle, p.OracleTrue-p0.OracleTrue)
		labels = append(labels, fmt.Sprintf("n = %d", p.N))
	}
	r.Section("What it found", bestOfNFinding(res.Points))
	r.Add(viz.Lines(viz.Spec{Title: "Reward against sqrt(KL)", X: "sqrt(KL(best-of-n ‖ policy)) (nats^½)", Y: "reward gain over the policy (n = 1)",
		Caption: fmt.Sprintf("Gains over sampling the policy (n = 1; there the proxy is %.3f and the true reward %.3f): the preference model's reward of the kept sample (the proxy), its true reward, and best-of-n by the true reward itself (a perfect preference model). Where the proxy rises faster than the true reward, the policy is overoptimising the preference model.", p0.Proxy, p0.True)},
		[]viz.Series{
			{Name: "preference-model reward (proxy)", X: x, Y: proxy, Labels: labels},
			{Name: "true reward of the kept sample", X: x, Y: truth, Labels: labels},
			{Name: "best-of-n by the true reward", X: x, Y: oracle, Labels: labels},
		}))
	r.Data("results", res)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// bestOfNFinding says what the curves show: the gains at the largest n, the share of the
// proxy's gain that is real, how far a perfect preference model would get, and whether the
// true reward peaks before the largest n (overoptimisation, Gao et al. 2022).
func bestOfNFinding(pts []lab.BestOfNPoint) string {
	p0, last := pts[0], pts[len(pts)-1]
	proxy, truth, oracle := last.Proxy-p0.Proxy, last.True-p0.True, last.OracleTrue-p0.OracleTrue
	s := fmt.Sprintf("At n = %d (sqrt KL %.2f) best-of-n gains %+.3f in the preference model's reward and %+.3f in true reward", last.N, last.SqrtKL, proxy, truth)
	if proxy > 0 {
		s += fmt.Sprintf(" (%.0f%% of the proxy's gain is real)", 100*truth/proxy)
	}
	s += fmt.Sprintf("; a perfect preference model would gain %+.3f.", oracle)
	best := 0
	for i, p := range pts {
		if p.True > pts[best].True {
			best = i
		}
	}
	if best < len(pts)-1 && pts[best].True-last.True > 1e-9 {
		s += fmt.Sprintf(" The true reward peaks at n = %d (%+.3f) and falls after it while the proxy keeps rising: overoptimisation.", pts[best].N, pts[best].True-p0.True)
	} else {
		s += " The true reward still rises at the largest n: no overoptimisation in this range."
	}
	return s
}

func temperatureOf(t float64) float64 {
	if t == 0 {
		return 1
	}
	return t
}

// BestOfNText prints a best-of-n experiment as a table and the page written.
func BestOfNText(w io.Writer, res *lab.BestOfNResult, page string) {
	fmt.Fprintf(w, "%5s %8s %8s %12s %12s %12s\n", "n", "KL", "sqrt KL", "proxy", "true", "oracle true")
	for _, p := range res.Points {
		fmt.Fprintf(w, "%5d %8.3f %8.3f %12.4f %12.4f %12.4f\n", p.N, p.KL, p.SqrtKL, p.Proxy, p.True, p.OracleTrue)
	}
	if page != "" {
		fmt.Fprintf(w, "wrote %s\n", page)
	}
}
