package probes

import (
	"math"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/tensor"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

// TestPrefixMatchingPatterns: hand-built patterns on [BOS] + r + r + r with
// |r| = 3 (S = 10): queries 4..9; the targets of query q are q-2 and, in the
// third copy, q-5 too.
func TestPrefixMatchingPatterns(t *testing.T) {
	const S, n = 10, 3
	p := tensor.New(1, 3, S, S)
	for q := range S {
		// Head 0: a perfect induction head, attention split over the
		// token after each earlier occurrence.
		if q >= 1+n {
			var targets []int
			for src := q - n; src >= 1; src -= n {
				targets = append(targets, src+1)
			}
			for _, k := range targets {
				p.Set(1/float32(len(targets)), 0, 0, q, k)
			}
		} else {
			p.Set(1, 0, 0, q, 0)
		}
		// Head 1: previous token, never a target when |r| > 2. Head 2:
		// uniform over the keys it sees.
		p.Set(1, 0, 1, q, max(q-1, 0))
		for k := 0; k <= q; k++ {
			p.Set(1/float32(q+1), 0, 2, q, k)
		}
	}
	got, err := PrefixMatchingPatterns(p, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "induction head", got[0], 1, 1e-7)
	near(t, "previous-token head", got[1], 0, 0)
	// Uniform: queries 4,5,6 have one target (1/(q+1)), 7,8,9 two (2/(q+1)).
	want := (1.0/5 + 1.0/6 + 1.0/7 + 2.0/8 + 2.0/9 + 2.0/10) / 6
	near(t, "uniform head", got[2], want, 1e-7)
	for _, bad := range []struct{ n, start int }{{0, 1}, {5, 1}, {3, -1}} {
		if _, err := PrefixMatchingPatterns(p, bad.n, bad.start); err == nil {
			t.Errorf("n=%d start=%d: no error", bad.n, bad.start)
		}
	}
}

// TestPrefixMatchingHandSet runs a model whose head 1 attends back |r|-1
// positions (a fixed-offset copy) and head 0 to the previous token: on
// [BOS]+r+r with |r| = 5 head 1 scores 1, and at |r| = 4 it scores 0: the
// score measures attention to the token after the earlier occurrence, which
// only an induction mechanism finds at every length (docs/REFERENCE.md).
func TestPrefixMatchingHandSet(t *testing.T) {
	m := testmodel.HandSet(t, []int{1, 4}, []func(int) []float32{testmodel.OVCopy, testmodel.OVCopy})
	for _, tc := range []struct {
		n, repeats int
		want       [2]float64
	}{
		{5, 2, [2]float64{0, 1}},
		{5, 3, [2]float64{0, 1}},
		{4, 2, [2]float64{0, 0}},
		// |r| = 2: the token after the earlier occurrence is the previous
		// token. Head 1 sees no key 4 back at query 3 and spreads its
		// attention over keys 0..3 (1/4 on the target); query 4 misses.
		{2, 2, [2]float64{1, 0.125}},
	} {
		o := RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: tc.n, Repeats: tc.repeats}, Batch: 4, Seed: 9}
		got, err := PrefixMatching(m, o)
		if err != nil {
			t.Fatal(err)
		}
		for h := range 2 {
			near(t, "prefix matching", got[0][h], tc.want[h], 1e-6)
		}
	}
	if _, err := PrefixMatching(m, RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: 8}}); err == nil {
		t.Error("17 tokens in a context of 16: no error")
	}
	if _, err := PrefixMatching(m, RepeatOptions{RepeatedConfig: data.RepeatedConfig{Vocab: 50}}); err == nil {
		t.Error("vocabulary larger than the model's: no error")
	}
}

// TestCopyingHandSet: heads whose OV circuit copies, negates, shifts or
// half-copies the attended token score 1, 0, 0 and 1/2 exactly.
func TestCopyingHandSet(t *testing.T) {
	m := testmodel.HandSet(t, []int{1, 1, 1, 1}, []func(int) []float32{testmodel.OVCopy, testmodel.OVNegate, testmodel.OVNext, testmodel.OVHalf})
	got, err := Copying(m, RepeatOptions{Batch: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range []float64{1, 0, 0, 0.5} {
		near(t, "copying", got[0][h], want, 1e-6)
	}
}

func TestRaisedShare(t *testing.T) {
	// mean of {3,1,0,0} is 1: raised {2,0,0,0}: share of token 0 is 1.
	near(t, "share", RaisedShare([]float32{3, 1, 0, 0}, 0), 1, 0)
	// mean of {4,2,0,-2} is 1: raised {3,1,0,0}: token 1 has 1/4.
	near(t, "share", RaisedShare([]float32{4, 2, 0, -2}, 1), 0.25, 1e-12)
	near(t, "share", RaisedShare([]float32{4, 2, 0, -2}, 3), 0, 0)
	near(t, "share", RaisedShare([]float32{2, 2, 2}, 0), 0, 0)
	near(t, "share", RaisedShare([]float32{1, 2, 3}, 5), 0, 0)
}

// TestInductionLossHandSet: a model whose head attends |r|-1 back and
// copies with logit 20 predicts every token of the second copy after its
// first; the first copy's tokens only by chance. (The embedding also adds 1
// to the current token's logit, e^-19 in the loss: below the tolerance.)
func TestInductionLossHandSet(t *testing.T) {
	m := testmodel.HandSet(t, []int{4}, []func(int) []float32{func(tok int) []float32 {
		r := testmodel.OVCopy(tok)
		r[tok] = 20
		return r
	}})
	const n = 5
	il, err := InductionLosses(m, RepeatOptions{RepeatedConfig: data.RepeatedConfig{Len: n}, Batch: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(il.PerPosition) != 2*n || il.Len != n || il.Repeats != 2 || !il.BOS || il.Batch != 8 {
		t.Fatalf("shape: %+v", il)
	}
	// Positions 6..9 predict tokens 7..10 = r[1..4], which head 0 copies
	// from positions 2..5 with logit 20 against 0: loss ln(1 + 15 e^-20).
	want := math.Log1p(15 * math.Exp(-20))
	for p := n + 1; p < 2*n; p++ {
		near(t, "induction position", il.PerPosition[p], want, 1e-5)
	}
	near(t, "induction loss", il.Loss, want, 1e-5)
	if il.FirstCopy < 1 {
		t.Errorf("first-copy loss %v: the first copy cannot be predicted", il.FirstCopy)
	}
}
