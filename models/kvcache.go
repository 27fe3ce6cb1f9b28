package models

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// KVCache holds, for each block, the keys (after rotary positions) and
// values of the positions a model has already run on a batch, so that
// generation runs each new token alone instead of the whole sequence
// again (Options.KV). A cache belongs to one model and one batch size.
type KVCache struct {
	// B is the batch size; Len the number of positions cached.
	B, Len int
	nctx   int
	k, v   [][]float32 // per block [B, n_ctx, K, D]
	cfg    Config
}

// NewKVCache returns an empty cache for batches of B sequences of up to
// n_ctx positions.
func (m *Model) NewKVCache(B int) *KVCache {
	c := m.Config
	kv := &KVCache{B: B, nctx: c.NCtx, cfg: c, k: make([][]float32, c.NLayers), v: make([][]float32, c.NLayers)}
	n := B * c.NCtx * c.NKVHeads * c.DHead
	for l := range kv.k {
		kv.k[l], kv.v[l] = make([]float32, n), make([]float32, n)
	}
	return kv
}

// Reset empties the cache for a new batch of the same size.
func (kv *KVCache) Reset() { kv.Len = 0 }

func (kv *KVCache) check(c Config, B, T int) error {
	switch {
	case kv.cfg != c:
		return fmt.Errorf("models: the key/value cache was made for another model")
	case B != kv.B:
		return fmt.Errorf("models: the key/value cache holds batches of %d, got %d", kv.B, B)
	case kv.Len+T > kv.nctx:
		return fmt.Errorf("models: %d cached and %d new positions exceed the context n_ctx=%d", kv.Len, T, kv.nctx)
	}
	return nil
}

// attentionCached is attention for block l when the pass continues a
// key/value cache: the pass's keys and values [B,T,K,D] join the cache at
// positions off..off+T−1, and query i (position off+i) attends to cached
// positions 0..off+i. Scores and pattern are [B,H,T,off+T].
func (m *Model) attentionCached(r runner, ar *arena, p *Pass, l int, a *layerActs) error {
	c := m.Config
	B, T, off := p.B, p.T, p.off
	Tk, S := off+T, p.kv.nctx
	H, K, D := c.NHeads, c.NKVHeads, c.DHead
	HD, KD, G := H*D, K*D, H/K
	kc, vc := p.kv.k[l], p.kv.v[l]
	for b := 0; b < B; b++ {
		copy(kc[(b*S+off)*KD:(b*S+Tk)*KD], a.kr[b*T*KD:(b+1)*T*KD])
		copy(vc[(b*S+off)*KD:(b*S+Tk)*KD], a.v[b*T*KD:(b+1)*T*KD])
	}
	scale := float32(1 / math.Sqrt(float64(D)))
	negInf := float32(math.Inf(-1))
	a.scores = ar.get(B * H * T * Tk)
	a.pattern = ar.get(B * H * T * Tk)
	a.z = ar.get(B * T * HD)
	if T == 1 {
		return m.attentionOneCached(r, ar, p, l, a)
	}
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			s := a.scores[bh*T*Tk : (bh+1)*T*Tk]
			tensor.Gemm(false, true, T, Tk, D, scale, a.qr[b*T*HD+h*D:], HD, kc[b*S*KD+(h/G)*D:], KD, 0, s, Tk)
			for i := 0; i < T; i++ {
				row := s[i*Tk : (i+1)*Tk]
				for j := off + i + 1; j < Tk; j++ {
					row[j] = negInf
				}
			}
		}
	})
	if err := r.fire(ActName("attn_scores", l), a.scores, B, H, T, Tk); err != nil {
		return err
	}
	parallelFor(B*H*T, 64, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			softmaxCausalRow(a.pattern[row*Tk:(row+1)*Tk], a.scores[row*Tk:(row+1)*Tk], off+row%T)
		}
	})
	if err := r.fire(ActName("pattern", l), a.pattern, B, H, T, Tk); err != nil {
		return err
	}
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			tensor.Gemm(false, false, T, D, Tk, 1, a.pattern[bh*T*Tk:], Tk, vc[b*S*KD+(h/G)*D:], KD, 0, a.z[b*T*HD+h*D:], HD)
		}
	})
	return r.fire(ActName("z", l), a.z, B, T, H, D)
}

// attentionOneCached is attentionCached for one new position per sequence
// (a decoding step), with one matrix product per sequence for the scores
// of all heads and one for their z, where a product per head cost more in
// calls than in arithmetic (two thirds of a step's attention). With the
// cached keys Kc [Tk,K·D] of sequence b and Q̃ [K·D,H], the block-diagonal
// matrix whose column h holds q_h in the rows of its key/value head,
// Kc · Q̃ [Tk,H] is every head's scores; and with the pattern P [H,Tk],
// P · Vc [H,K·D] holds z_h in row h at its key/value head's columns. The
// blocks off the diagonal are wasted work, which costs nothing here: a
// product per head computed a whole 32-column tile for its one column.
func (m *Model) attentionOneCached(r runner, ar *arena, p *Pass, l int, a *layerActs) error {
	c := m.Config
	B, off := p.B, p.off
	Tk, S := off+1, p.kv.nctx
	H, D := c.NHeads, c.DHead
	HD, KD, G := H*D, c.NKVHeads*c.DHead, H/c.NKVHeads
	kc, vc := p.kv.k[l], p.kv.v[l]
	scale := float32(1 / math.Sqrt(float64(D)))
	qBlk, prod := ar.get(B*KD*H), ar.get(B*max(Tk*H, H*KD))
	parallelFor(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			qb, out := qBlk[b*KD*H:(b+1)*KD*H], prod[b*Tk*H:(b+1)*Tk*H]
			for h := 0; h < H; h++ {
				q := a.qr[b*HD+h*D : b*HD+(h+1)*D]
				for d, v := range q {
					qb[((h/G)*D+d)*H+h] = v
				}
			}
			tensor.Gemm(false, false, Tk, H, KD, scale, kc[b*S*KD:], KD, qb, H, 0, out, H)
			for h := 0; h < H; h++ {
				row := a.scores[(b*H+h)*Tk : (b*H+h+1)*Tk]
				for j := range row {
					row[j] = out[j*H+h]
				}
			}
		}
	})
	if err := r.fire(ActName("attn_scores", l), a.scores, B, H, 1, Tk); err != nil {
		return err
	}
	parallelFor(B*H, 64, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			softmaxCausalRow(a.pattern[row*Tk:(row+1)*Tk], a.scores[row*Tk:(row+1)*Tk], off)
		}
	})
	if err := r.fire(ActName("pattern", l), a.pattern, B, H, 1, Tk); err != nil {
		return err
	}
	parallelFor(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			out := prod[b*H*KD : (b+1)*H*KD]
			tensor.Gemm(false, false, H, KD, Tk, 1, a.pattern[b*H*Tk:], Tk, vc[b*S*KD:], KD, 0, out, KD)
			for h := 0; h < H; h++ {
				copy(a.z[b*HD+h*D:b*HD+(h+1)*D], out[h*KD+(h/G)*D:h*KD+(h/G+1)*D])
			}
		}
	})
	return r.fire(ActName("z", l), a.z, B, 1, H, D)
}
