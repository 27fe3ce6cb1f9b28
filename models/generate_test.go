package models

import (
	"math"
	"sort"
	"testing"

	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/tensor"
)

func TestSampleLogitsDistribution(t *testing.T) {
	logits := []float32{2, 1, 0, -1, 0.5}
	const n = 200000
	for _, tc := range []struct {
		name string
		opt  SampleOptions
		want []float64 // unnormalised
	}{
		{"t=1", SampleOptions{}, []float64{math.E * math.E, math.E, 1, 1 / math.E, math.Sqrt(math.E)}},
		{"t=2", SampleOptions{Temperature: 2}, []float64{math.E, math.Sqrt(math.E), 1, 1 / math.Sqrt(math.E), math.Pow(math.E, 0.25)}},
		{"top-k 2", SampleOptions{TopK: 2}, []float64{math.E * math.E, math.E, 0, 0, 0}},
		// Sorted probabilities ∝ e², e, e^.5, 1, e^-1 (sum 13.2): the first two
		// hold 0.766 < 0.8, the first three 0.891 ≥ 0.8.
		{"top-p 0.8", SampleOptions{TopP: 0.8}, []float64{math.E * math.E, math.E, 0, 0, math.Sqrt(math.E)}},
		{"greedy", SampleOptions{Temperature: -1}, []float64{1, 0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := seed.New(1)
			counts := make([]float64, len(logits))
			for i := 0; i < n; i++ {
				counts[SampleLogits(logits, tc.opt, &r, nil, nil)]++
			}
			total := 0.0
			for _, w := range tc.want {
				total += w
			}
			for i, w := range tc.want {
				p := w / total
				if got := counts[i] / n; math.Abs(got-p) > 4*math.Sqrt(p*(1-p)/n)+1e-9 {
					t.Errorf("token %d drawn %.4f of the time, want %.4f", i, got, p)
				}
			}
		})
	}
}

func TestGenerateSeededAndHooked(t *testing.T) {
	m := randomModel(t, Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 9, DVocab: 11, Seed: 1})
	prompts := [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
	opt := SampleOptions{Seed: 5, TopK: 6, TopP: 0.95, Temperature: 0.8}
	a, err := Generate(m, prompts, 6, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(m, prompts, 6, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Row 2 alone, as row 2 of a batch: its stream does not depend on the batch.
	c, err := Generate(m, [][]int{{4, 5, 6}, {1, 1, 1}, {7, 8, 9}}, 6, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if len(a[i]) != 9 || !equalInts(a[i], b[i]) {
			t.Fatalf("row %d: %v then %v", i, a[i], b[i])
		}
		if !equalInts(a[i][:3], prompts[i]) {
			t.Errorf("row %d lost its prompt: %v", i, a[i])
		}
	}
	if !equalInts(a[2], c[2]) {
		t.Errorf("row 2 changed with the other rows: %v vs %v", a[2], c[2])
	}
	other, _ := Generate(m, prompts, 6, SampleOptions{Seed: 6, TopK: 6, TopP: 0.95, Temperature: 0.8})
	same := true
	for i := range a {
		same = same && equalInts(a[i], other[i])
	}
	if same {
		t.Error("seeds 5 and 6 drew the same samples")
	}
	// Greedy decoding with the cache equals the argmax of a full forward
	// pass at each step, and hooks fire at every step on the new positions.
	var lengths []int
	hook := func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
		if name == "hook_embed" {
			lengths = append(lengths, act.Shape[1])
		}
		return nil, nil
	}
	g, err := Generate(m, prompts[:1], 4, SampleOptions{Temperature: -1, Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(lengths, []int{3, 1, 1, 1}) {
		t.Errorf("hook_embed saw lengths %v, want the prompt's 3, then one new position per step", lengths)
	}
	for T := 3; T < 7; T++ {
		p, err := m.Forward(g[0][:T], 1, T, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		row := p.Logits.Data[(T-1)*11 : T*11]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if g[0][T] != best {
			t.Errorf("step %d: greedy token %d, argmax %d", T, g[0][T], best)
		}
	}
	if _, err := Generate(m, prompts, 7, opt); err == nil {
		t.Error("beyond n_ctx: want an error")
	}
	if _, err := Generate(m, [][]int{{1}, {1, 2}}, 1, opt); err == nil {
		t.Error("ragged prompts: want an error")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMostLikely checks the heap selection of top-k against a full sort,
// with ties (broken by id) and every k.
func TestMostLikely(t *testing.T) {
	r := seed.New(3)
	for _, V := range []int{1, 2, 7, 64} {
		probs := make([]float64, V)
		for i := range probs {
			probs[i] = float64(r.IntN(5)) // many ties
		}
		want := make([]int, V)
		for i := range want {
			want[i] = i
		}
		sort.SliceStable(want, func(a, b int) bool { return probs[want[a]] > probs[want[b]] })
		for k := 1; k <= V+1; k++ {
			got := mostLikely(make([]int, V), probs, k)
			n := min(k, V)
			if !equalInts(got, want[:n]) {
				t.Errorf("V=%d k=%d: got %v, want %v", V, k, got, want[:n])
			}
		}
	}
}

// TestDrawInOrder checks the blocked draw against the token-by-token walk
// it replaced, on vocabularies around the block size with zero weights
// among them, and the draw at u near 1 (the last token with weight).
func TestDrawInOrder(t *testing.T) {
	walk := func(w []float64, u float64) int {
		total := 0.0
		for _, p := range w {
			total += p
		}
		u *= total
		last := 0
		for i, p := range w {
			if p > 0 {
				last = i
			}
			u -= p
			if u < 0 {
				return i
			}
		}
		return last
	}
	r := seed.New(9)
	for _, V := range []int{1, 2, 63, 64, 65, 129, 2048} {
		w := make([]float64, V)
		for i := range w {
			if r.IntN(3) > 0 {
				w[i] = math.Exp(3 * r.NormFloat64())
			}
		}
		w[r.IntN(V)] = 1 // at least one token with weight
		for k := 0; k < 2000; k++ {
			u := r.Float64()
			if got, want := drawInOrder(w, u), walk(w, u); got != want {
				t.Fatalf("V=%d u=%v: drew %d, the walk %d", V, u, got, want)
			}
		}
		lastW := 0
		for i, p := range w {
			if p > 0 {
				lastW = i
			}
		}
		if got := drawInOrder(w, math.Nextafter(1, 0)); got != lastW {
			t.Errorf("V=%d u→1: drew %d, want the last token with weight %d", V, got, lastW)
		}
	}
}
