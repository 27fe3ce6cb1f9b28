package models

import (
	"math"
	"sync"
)

// Activation buffers are recycled between passes: a training step allocates
// tens of megabytes, and fresh memory costs page faults and zeroing that
// showed as a tenth of a step's time. Buffers are pooled by exact length, so
// passes of one shape reuse each other's memory; sync.Pool lets the garbage
// collector reclaim what a changed shape no longer needs.
var pools sync.Map // int (length) -> *sync.Pool of *[]float32

func poolFor(n int) *sync.Pool {
	if p, ok := pools.Load(n); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(n, &sync.Pool{})
	return p.(*sync.Pool)
}

// arena hands out zeroed buffers and returns them all to the pools at once.
type arena struct {
	bufs []*[]float32
}

func (a *arena) get(n int) []float32 {
	var b *[]float32
	if v := poolFor(n).Get(); v != nil {
		b = v.(*[]float32)
		clear(*b)
	} else {
		s := make([]float32, n)
		b = &s
	}
	a.bufs = append(a.bufs, b)
	return *b
}

// getDirty is get without the zeroing, for a buffer the caller overwrites
// in full before anything reads it: the forward pass's outputs, whose
// clearing cost a tenth of a Pythia-160M pass with a full cache (the
// [T,V] logits alone are 26 MB at 128 tokens). Under tests (poisonDirty)
// the buffer comes filled with NaN instead, so that an element left
// unwritten shows in the outputs.
func (a *arena) getDirty(n int) []float32 {
	var b *[]float32
	if v := poolFor(n).Get(); v != nil {
		b = v.(*[]float32)
	} else {
		s := make([]float32, n)
		b = &s
	}
	if poisonDirty {
		nan := float32(math.NaN())
		for i := range *b {
			(*b)[i] = nan
		}
	}
	a.bufs = append(a.bufs, b)
	return *b
}

// poisonDirty makes getDirty fill its buffers with NaN (tests only).
var poisonDirty bool

func (a *arena) release() {
	for _, b := range a.bufs {
		poolFor(len(*b)).Put(b)
	}
	a.bufs = nil
}

// move hands the buffer that starts at data (if a holds it) over to dst, so
// that releasing a leaves it alone.
func (a *arena) move(data []float32, dst *arena) {
	if len(data) == 0 {
		return
	}
	for i, b := range a.bufs {
		if len(*b) > 0 && &(*b)[0] == &data[0] {
			dst.bufs = append(dst.bufs, b)
			a.bufs = append(a.bufs[:i], a.bufs[i+1:]...)
			return
		}
	}
}
