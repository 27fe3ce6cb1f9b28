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
// (a decoding step). Each head's scores and z are matrix-vector products
// ([Tk,D]·q and pᵀ·[Tk,D]), a few thousand multiply-adds each, computed
// here in plain loops over the cache in place: through tensor.Gemm, whose
// tiles are 6 rows by 64 columns, one column of scores filled one column of
// a 64-wide tile, and every call repacked its operand (the block-diagonal
// batching of all heads into one product per sequence still computed 64
// times the useful work, two thirds of a step's attention).
func (m *Model) attentionOneCached(r runner, ar *arena, p *Pass, l int, a *layerActs) error {
	c := m.Config
	B, off := p.B, p.off
	Tk, S := off+1, p.kv.nctx
	H, D := c.NHeads, c.DHead
	HD, KD, G := H*D, c.NKVHeads*c.DHead, H/c.NKVHeads
	kc, vc := p.kv.k[l], p.kv.v[l]
	scale := float32(1 / math.Sqrt(float64(D)))
	parallelFor(B*H, 8, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			q := a.qr[b*HD+h*D : b*HD+(h+1)*D]
			scoresOne(a.scores[bh*Tk:(bh+1)*Tk], q, kc[b*S*KD+(h/G)*D:], KD, scale)
		}
	})
	if err := r.fire(ActName("attn_scores", l), a.scores, B, H, 1, Tk); err != nil {
		return err
	}
	parallelFor(B*H, 16, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			softmaxCausalRow(a.pattern[row*Tk:(row+1)*Tk], a.scores[row*Tk:(row+1)*Tk], off)
		}
	})
	if err := r.fire(ActName("pattern", l), a.pattern, B, H, 1, Tk); err != nil {
		return err
	}
	parallelFor(B*H, 8, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			zOne(a.z[b*HD+h*D:b*HD+(h+1)*D], a.pattern[bh*Tk:(bh+1)*Tk], vc[b*S*KD+(h/G)*D:], KD)
		}
	})
	return r.fire(ActName("z", l), a.z, B, 1, H, D)
}

// scoresOne sets s[j] = scale·(q·k_j) for the len(s) keys k_j = k[j·ld:j·ld+len(q)].
// Four keys at a time share each load of q, and their four sums are
// independent chains.
func scoresOne(s, q, k []float32, ld int, scale float32) {
	D := len(q)
	j := 0
	for ; j+3 < len(s); j += 4 {
		k0, k1 := k[j*ld:j*ld+D], k[(j+1)*ld:(j+1)*ld+D]
		k2, k3 := k[(j+2)*ld:(j+2)*ld+D], k[(j+3)*ld:(j+3)*ld+D]
		k0, k1, k2, k3 = k0[:len(q)], k1[:len(q)], k2[:len(q)], k3[:len(q)] // no bounds checks below
		var s0, s1, s2, s3 float32
		for d, v := range q {
			s0 += v * k0[d]
			s1 += v * k1[d]
			s2 += v * k2[d]
			s3 += v * k3[d]
		}
		s[j], s[j+1], s[j+2], s[j+3] = s0*scale, s1*scale, s2*scale, s3*scale
	}
	for ; j < len(s); j++ {
		kj := k[j*ld : j*ld+D]
		kj = kj[:len(q)]
		var s0 float32
		for d, v := range q {
			s0 += v * kj[d]
		}
		s[j] = s0 * scale
	}
}

// zOne sets z = Σ_j p[j]·v_j for the values v_j = v[j·ld:j·ld+len(z)], four
// values at a time, so that z is loaded and stored once per four.
func zOne(z, p, v []float32, ld int) {
	D := len(z)
	clear(z)
	j := 0
	for ; j+3 < len(p); j += 4 {
		p0, p1, p2, p3 := p[j], p[j+1], p[j+2], p[j+3]
		v0, v1 := v[j*ld:j*ld+D], v[(j+1)*ld:(j+1)*ld+D]
		v2, v3 := v[(j+2)*ld:(j+2)*ld+D], v[(j+3)*ld:(j+3)*ld+D]
		v0, v1, v2, v3 = v0[:len(z)], v1[:len(z)], v2[:len(z)], v3[:len(z)] // no bounds checks below
		for d := range z {
			z[d] += p0*v0[d] + p1*v1[d] + p2*v2[d] + p3*v3[d]
		}
	}
	for ; j < len(p); j++ {
		pj, vj := p[j], v[j*ld:j*ld+D]
		vj = vj[:len(z)]
		for d := range z {
			z[d] += pj * vj[d]
		}
	}
}
