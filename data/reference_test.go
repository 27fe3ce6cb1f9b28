package data

import (
	"math"
	"testing"
)

// TestReferenceDistribution checks the statistics of the reference recipe
// (docs/induction-heads.md) that scripts/induction_reference.py samples:
// no BOS, every other sequence uniform, chain steps drawn from the rolled
// 1/i vector, one span with n ~ U{10..29}, s ~ U{0..L-2n-1},
// d ~ U{s+n..L-n}, copied over the background.
func TestReferenceDistribution(t *testing.T) {
	src, err := New(Config{Kind: KindReference, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := src.(*Reference)
	const B, T, batches = 32, 63, 200
	b := NewBatch(B, T)
	V := r.Vocab()
	first := make([]int, V)
	pairs := map[[2]int]int{}
	from := make([]int, V)
	lens := map[int]int{}
	nearest, zeroSrc := 0, 0
	for range batches {
		if err := src.Next(b); err != nil {
			t.Fatal(err)
		}
		for i := range B {
			row := b.Row(i)
			sp := b.Spans[i]
			if len(sp) != 1 {
				t.Fatalf("row %d has %d spans, want 1", i, len(sp))
			}
			s, d, n := sp[0].Src, sp[0].Dst, sp[0].Len
			L := T + 1
			if n < 10 || n > 29 || s < 0 || s > L-2*n-1 || d < s+n || d > L-n {
				t.Fatalf("span %+v outside the recipe's ranges for rows of %d", sp[0], L)
			}
			for j := range n {
				if row[d+j] != row[s+j] {
					t.Fatalf("row %d: position %d does not copy %d", i, d+j, s+j)
				}
			}
			lens[n]++
			if d == s+n {
				nearest++
			}
			if s == 0 {
				zeroSrc++
			}
			if i%2 == 1 { // the chain rows, outside the copy
				first[row[0]]++
				for p := 1; p < L; p++ {
					if p >= d && p < d+n || p == d+n {
						continue // copied, or following a copied token
					}
					pairs[[2]int{row[p-1], row[p]}]++
					from[row[p-1]]++
				}
			}
		}
	}
	if len(lens) != 20 {
		t.Errorf("span lengths: %d distinct values, want 20 (10..29)", len(lens))
	}
	if nearest == 0 || zeroSrc == 0 {
		t.Errorf("adjacent copies %d, sources at 0 %d: both should occur", nearest, zeroSrc)
	}
	// The empirical probability of the commonest successor (rank 1) of each
	// token is p(1) = 1/H_128 ≈ 0.184.
	h := 0.0
	for i := 1; i <= V; i++ {
		h += 1 / float64(i)
	}
	var hits, total int
	for a := range V {
		for bb := range V {
			if r.Transition(a, bb) > 0.18 {
				hits += pairs[[2]int{a, bb}]
			}
		}
		total += from[a]
	}
	if got, want := float64(hits)/float64(total), 1/h; math.Abs(got-want) > 0.01 {
		t.Errorf("share of chain steps to the rank-1 successor = %.4f, want %.4f", got, want)
	}
	// Every token is somebody's rank-1 successor about equally, so the
	// first token (uniform) and the chain's tokens cover the vocabulary.
	seen := 0
	for _, c := range first {
		if c > 0 {
			seen++
		}
	}
	if seen < V/2 {
		t.Errorf("first tokens of chain rows cover %d of %d ids: not uniform", seen, V)
	}
	if e := r.Entropy(); math.Abs(e-3.85) > 0.05 {
		t.Errorf("chain entropy %.3f nats, want about 3.85", e)
	}
}

// TestReferenceUniformRows checks that even rows are uniform: no token after
// another is more likely than chance, unlike the chain.
func TestReferenceUniformRows(t *testing.T) {
	r, err := NewReference(ReferenceConfig{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]int, 64)
	var rank1, n int
	for i := uint64(0); i < 4000; i += 2 {
		if _, err := r.Sequence(i, row); err != nil {
			t.Fatal(err)
		}
		for p := 1; p < len(row); p++ {
			if r.Transition(row[p-1], row[p]) > 0.18 {
				rank1++
			}
			n++
		}
	}
	// Chance 1/128, plus the copy's repeats.
	if got := float64(rank1) / float64(n); got > 0.02 {
		t.Errorf("uniform rows follow the chain's rank-1 successor %.3f of the time, want about 1/128", got)
	}
}

func TestReferenceConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    ReferenceConfig
		row  int
		ok   bool
	}{
		{"recipe", ReferenceConfig{}, 64, true},
		{"short row", ReferenceConfig{}, 58, false},
		{"bad spans", ReferenceConfig{MinSpan: 5, MaxSpan: 4}, 64, false},
		{"tiny vocab", ReferenceConfig{Vocab: 1}, 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReference(tc.c, 0)
			if err == nil {
				_, err = r.Sequence(0, make([]int, tc.row))
			}
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
