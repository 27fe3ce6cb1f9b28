package sae

import (
	"fmt"
)

// activation is an SAE's function σ from one row's pre-activations to its
// feature activations at inference (Encode, Evaluate). Training works on
// whole batches (trainer.activate), where BatchTopK differs from its
// inference form.
type activation interface {
	forward(pre, f []float64)
}

// activation returns s's σ: ReLU, TopK with s.K, or a threshold per latent
// (JumpReLU, and BatchTopK with the threshold estimated in training, as
// SAELens turns a BatchTopK SAE into a JumpReLU one for inference).
func (s *SAE) activation() (activation, error) {
	switch s.Architecture {
	case ReLU, "":
		return reluAct{}, nil
	case TopK:
		if s.K <= 0 {
			return nil, fmt.Errorf("SAE architecture %s needs k > 0, got %d", TopK, s.K)
		}
		return &topKAct{k: s.K}, nil
	case JumpReLU, BatchTopK:
		if len(s.Threshold) != s.F {
			return nil, fmt.Errorf("SAE architecture %s needs %d thresholds, got %d", s.Architecture, s.F, len(s.Threshold))
		}
		return jumpAct{s.Threshold}, nil
	}
	return nil, fmt.Errorf("unknown SAE architecture %q", s.Architecture)
}

type reluAct struct{}

func (reluAct) forward(pre, f []float64) {
	for k, p := range pre {
		f[k] = max(p, 0)
	}
}

// topKAct keeps the k largest pre-activations, ReLU'd, and zeroes the rest
// (Gao et al. 2024); ties at the k-th value keep the lowest indices.
type topKAct struct {
	k    int
	heap []float64
}

func (a *topKAct) forward(pre, f []float64) {
	topKRow(pre, f, min(a.k, len(pre)), &a.heap)
}

// jumpAct is JumpReLU: f = pre where pre > θ_k, else 0 (Rajamanoharan et
// al. 2024, Jumping Ahead).
type jumpAct struct{ theta []float64 }

func (a jumpAct) forward(pre, f []float64) {
	for k, p := range pre {
		f[k] = 0
		if p > a.theta[k] {
			f[k] = p
		}
	}
}

// topKRow writes into f the k largest entries of pre, ReLU'd, and zeroes
// elsewhere; ties at the k-th value keep the lowest indices, so at most k
// entries are non-zero. heap is scratch.
func topKRow[T num](pre, f []T, k int, heap *[]T) {
	f = f[:len(pre)]
	thr := kthLargest(pre, k, heap)
	above := 0
	for _, p := range pre {
		if p > thr {
			above++
		}
	}
	ties := k - above
	for i, p := range pre {
		f[i] = 0
		if p > thr || (p == thr && ties > 0) {
			if p == thr {
				ties--
			}
			f[i] = max(p, 0)
		}
	}
}

// kthLargest returns the k-th largest value of v (1 <= k <= len(v)) with a
// min-heap of the k largest seen: O(len(v)) when k is small.
func kthLargest[T num](v []T, k int, scratch *[]T) T {
	h := append((*scratch)[:0], v[:k]...)
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for _, x := range v[k:] {
		if x > h[0] {
			h[0] = x
			siftDown(h, 0)
		}
	}
	*scratch = h
	return h[0]
}

func siftDown[T num](h []T, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
