package models

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// HookFunc is called at every hook point during Forward with the point's
// TransformerLens name and a view of the live activation. It may change the
// view in place or return a replacement of the same shape; either way the new
// values flow into everything downstream, loss included. Returning nil (or
// act itself) keeps the activation. The view belongs to the pass: it is
// valid until the pass is released (see Pass.Release and Pass.Retain), so a
// hook that keeps it must copy it unless the pass is retained. An error
// stops the pass.
type HookFunc func(name string, act *tensor.Tensor) (*tensor.Tensor, error)

// Options control one Forward call. The zero value runs plainly.
type Options struct {
	// Hook, if set, is called at every hook point in execution order.
	Hook HookFunc
	// AttnResult computes blocks.{l}.attn.hook_result, each head's output
	// [B,T,H,C] before the heads are summed (TransformerLens's use_attn_result).
	// It costs H times the memory of hook_attn_out.
	AttnResult bool
	// NoGrad runs the pass for its outputs only, as PyTorch's no_grad: each
	// block's activations are recycled as soon as the next block no longer
	// needs them, so the pass holds one block's activations at a time
	// instead of all of them. Backward refuses such a pass, and a hook that
	// keeps an activation must copy it before its block ends, unless Keep
	// selects it.
	NoGrad bool
	// Keep, with NoGrad, names the hook points whose activations outlive
	// their block: the pass keeps their buffers until it is released, so a
	// hook may hold views of them (a cache without copies) while every other
	// buffer is recycled.
	Keep func(name string) bool
}

// Pass holds one forward pass: its inputs, its outputs and every activation
// Backward needs. Activations are stored after hooks ran, so Backward
// differentiates the network that actually ran.
type Pass struct {
	B, T    int
	Tokens  []int // [B,T]
	Targets []int // [B,T] or nil; negative entries are ignored

	Logits *tensor.Tensor // [B,T,V]
	// Losses is the per-token cross-entropy [B,T] (0 where there is no target).
	Losses *tensor.Tensor
	// Loss is the mean of Losses over tokens with a target (NaN if none).
	Loss     float32
	nLoss    int
	lse      []float32 // [N] log-sum-exp of each logit row, for Backward
	result   bool
	retained bool
	noGrad   bool

	mem        arena     // every buffer below, for Release
	embed, pos []float32 // [B,T,C] hook_embed, hook_pos_embed
	layers     []layerActs
	resid      []float32 // [B,T,C] final residual stream
	lnf        lnActs
}

type lnActs struct {
	xhat, scale, out []float32 // [B,T,C], [B,T], [B,T,C]
}

type layerActs struct {
	residPre        []float32 // [B,T,C]
	ln1             lnActs    // out aliases residPre without LayerNorm
	q, k, v         []float32 // [B,T,H,D]
	scores          []float32 // [B,H,T,T], masked entries -Inf
	pattern         []float32 // [B,H,T,T]
	z               []float32 // [B,T,H,D]
	result          []float32 // [B,T,H,C] when Options.AttnResult
	attnOut         []float32 // [B,T,C]
	residMid        []float32 // [B,T,C] (MLP models)
	ln2             lnActs
	mlpPre, mlpPost []float32 // [B,T,M]
	mlpOut          []float32 // [B,T,C]
	residPost       []float32 // [B,T,C]
}

// runner fires hooks and keeps the shape bookkeeping out of the layer code.
type runner struct {
	hook HookFunc
	// With Options.Keep, a kept activation's buffer moves from the block's
	// arena (from) to the pass's (to) when its hook fires.
	keep     func(name string) bool
	from, to *arena
}

func (r runner) fire(name string, data []float32, shape ...int) error {
	if r.keep != nil && r.from != nil && r.keep(name) {
		r.from.move(data, r.to)
	}
	if r.hook == nil {
		return nil
	}
	t := tensor.View(data, shape...)
	out, err := r.hook(name, t)
	if err != nil {
		return fmt.Errorf("hook at %s: %w", name, err)
	}
	if out == nil || out == t {
		return nil
	}
	if !out.SameShape(shape) {
		return fmt.Errorf("hook at %s returned shape %s, want %s", name,
			tensor.ShapeString(out.Shape), tensor.ShapeString(shape))
	}
	copy(data, out.Data)
	return nil
}

// Release hands the pass's buffers back for reuse by later passes, which
// saves a training loop the cost of fresh memory each step. The pass, its
// Logits and its Losses must not be used afterwards. Calling it is optional,
// and does nothing after Retain.
func (p *Pass) Release() {
	if p.retained {
		return
	}
	p.mem.release()
	*p = Pass{}
}

// Retain keeps the pass's buffers out of reuse for good: views of its
// activations taken by hooks stay valid for as long as they are referenced.
// Forward never writes an activation after its hook has returned, so such a
// view holds the value every later layer saw.
func (p *Pass) Retain() { p.retained = true }

// ReleaseRetained releases the pass even after Retain. It is for the owner of
// the views Retain protected (a hooks.Cache), once no view is in use.
func (p *Pass) ReleaseRetained() {
	p.retained = false
	p.Release()
}

// CheckTokens reports whether tokens [B,T] fit the model: B,T positive, T at
// most n_ctx, every id in [0, d_vocab).
func (m *Model) CheckTokens(tokens []int, B, T int) error {
	c := m.Config
	switch {
	case B <= 0 || T <= 0:
		return fmt.Errorf("models: batch %d and length %d must be positive", B, T)
	case len(tokens) != B*T:
		return fmt.Errorf("models: %d tokens do not fill batch %d × length %d", len(tokens), B, T)
	case T > c.NCtx:
		return fmt.Errorf("models: %d tokens exceed the context length n_ctx=%d", T, c.NCtx)
	}
	for i, t := range tokens {
		if t < 0 || t >= c.DVocab {
			return fmt.Errorf("models: token id %d at position %d is out of range [0,%d)", t, i, c.DVocab)
		}
	}
	return nil
}

// Forward runs the model on tokens [B,T] (row-major) and returns the logits
// [B,T,V], and, when targets [B,T] are given, the per-token and mean
// cross-entropy. It fires every hook point through opt.Hook.
func (m *Model) Forward(tokens []int, B, T int, targets []int, opt *Options) (*Pass, error) {
	if err := m.CheckTokens(tokens, B, T); err != nil {
		return nil, err
	}
	if targets != nil && len(targets) != B*T {
		return nil, fmt.Errorf("models: %d targets for %d tokens", len(targets), B*T)
	}
	if opt == nil {
		opt = &Options{}
	}
	c := m.Config
	C, H, D, M, V := c.DModel, c.NHeads, c.DHead, c.DMLP, c.DVocab
	HD, N := H*D, B*T
	r := runner{hook: opt.Hook}
	if opt.NoGrad {
		r.keep = opt.Keep
	}
	p := &Pass{B: B, T: T, Tokens: tokens, Targets: targets, result: opt.AttnResult, noGrad: opt.NoGrad}
	shortformer := c.Positional == PosShortformer

	// Embeddings: hook_embed [B,T,C] = W_E[token], hook_pos_embed [B,T,C] = W_pos[t].
	wte, wpe := m.Params.slice("wte.weight"), m.Params.slice("wpe.weight")
	ar := &p.mem
	p.embed, p.pos = ar.get(N*C), ar.get(N*C)
	for i, tok := range tokens {
		copy(p.embed[i*C:(i+1)*C], wte[tok*C:(tok+1)*C])
		t := i % T
		copy(p.pos[i*C:(i+1)*C], wpe[t*C:(t+1)*C])
	}
	if err := r.fire("hook_embed", p.embed, B, T, C); err != nil {
		return nil, err
	}
	if err := r.fire("hook_pos_embed", p.pos, B, T, C); err != nil {
		return nil, err
	}
	x := ar.get(N * C)
	copy(x, p.embed)
	if !shortformer {
		for i := range x {
			x[i] += p.pos[i]
		}
	}

	p.layers = make([]layerActs, c.NLayers)
	for l := range p.layers {
		a := &p.layers[l]
		w := m.Params.layer(l)
		pre := fmt.Sprintf("blocks.%d.", l)
		la := ar // where this block's activations live
		if opt.NoGrad {
			la = &arena{}
			r.from, r.to = la, ar
		}

		a.residPre = x
		if err := r.fire(pre+"hook_resid_pre", a.residPre, B, T, C); err != nil {
			return nil, err
		}
		var err error
		if a.ln1, err = m.layerNorm(r, la, pre+"ln1.", a.residPre, w.ln1w, w.ln1b, B, T); err != nil {
			return nil, err
		}

		// Q, K, V [B,T,H,D] from the fused [C,3HD] weight; shortformer adds
		// the positional embedding to the inputs of Q and K only.
		a.q, a.k, a.v = la.get(N*HD), la.get(N*HD), la.get(N*HD)
		for i, dst := range [][]float32{a.q, a.k, a.v} {
			linear(dst, a.ln1.out, w.attnW[i*HD:], 3*HD, w.attnB[i*HD:(i+1)*HD], N, C, HD)
			if shortformer && i < 2 {
				tensor.Gemm(false, false, N, HD, C, 1, p.pos, C, w.attnW[i*HD:], 3*HD, 1, dst, HD)
			}
		}
		for _, h := range []struct {
			name string
			s    []float32
		}{{"attn.hook_q", a.q}, {"attn.hook_k", a.k}, {"attn.hook_v", a.v}} {
			if err := r.fire(pre+h.name, h.s, B, T, H, D); err != nil {
				return nil, err
			}
		}
		if err := m.attention(r, la, pre, a, B, T); err != nil {
			return nil, err
		}

		// Output projection: per head when hook_result is asked for, so a
		// replaced head output changes the sum.
		a.attnOut = la.get(N * C)
		if opt.AttnResult {
			a.result = la.get(N * H * C)
			for h := 0; h < H; h++ {
				// result[:, :, h, :] = z[:, :, h, :] · W_O[h]
				tensor.Gemm(false, false, N, C, D, 1, a.z[h*D:], HD, w.projW[h*D*C:], C, 0, a.result[h*C:], H*C)
			}
			if err := r.fire(pre+"attn.hook_result", a.result, B, T, H, C); err != nil {
				return nil, err
			}
			for i := 0; i < N; i++ {
				o := a.attnOut[i*C : (i+1)*C]
				copy(o, w.projB)
				for h := 0; h < H; h++ {
					rh := a.result[(i*H+h)*C : (i*H+h+1)*C]
					for j := range o {
						o[j] += rh[j]
					}
				}
			}
		} else {
			linear(a.attnOut, a.z, w.projW, C, w.projB, N, HD, C)
		}
		if err := r.fire(pre+"hook_attn_out", a.attnOut, B, T, C); err != nil {
			return nil, err
		}

		if c.AttnOnly {
			a.residPost = add(ar, a.residPre, a.attnOut)
		} else {
			a.residMid = add(la, a.residPre, a.attnOut)
			if err := r.fire(pre+"hook_resid_mid", a.residMid, B, T, C); err != nil {
				return nil, err
			}
			if a.ln2, err = m.layerNorm(r, la, pre+"ln2.", a.residMid, w.ln2w, w.ln2b, B, T); err != nil {
				return nil, err
			}
			a.mlpPre, a.mlpPost = la.get(N*M), la.get(N*M)
			linear(a.mlpPre, a.ln2.out, w.fcW, M, w.fcB, N, C, M)
			if err := r.fire(pre+"mlp.hook_pre", a.mlpPre, B, T, M); err != nil {
				return nil, err
			}
			geluTanh(a.mlpPost, a.mlpPre)
			if err := r.fire(pre+"mlp.hook_post", a.mlpPost, B, T, M); err != nil {
				return nil, err
			}
			a.mlpOut = la.get(N * C)
			linear(a.mlpOut, a.mlpPost, w.fcProjW, C, w.fcPrB, N, M, C)
			if err := r.fire(pre+"hook_mlp_out", a.mlpOut, B, T, C); err != nil {
				return nil, err
			}
			a.residPost = add(ar, a.residMid, a.mlpOut)
		}
		if err := r.fire(pre+"hook_resid_post", a.residPost, B, T, C); err != nil {
			return nil, err
		}
		x = a.residPost
		if opt.NoGrad {
			la.release()
			*a = layerActs{residPost: x}
		}
	}

	p.resid = x
	r.from = nil // the final LayerNorm and the logits live in the pass's arena
	var err error
	if p.lnf, err = m.layerNorm(r, ar, "ln_final.", x, m.Params.slice("ln_f.weight"), m.Params.slice("ln_f.bias"), B, T); err != nil {
		return nil, err
	}
	// Unembed: logits [N,V] = ln_final [N,C] · W_U [C,V] + b_U, W_U stored [V,C].
	wu, bu := m.Params.unembed(c)
	logits := ar.get(N * V)
	tensor.Gemm(false, true, N, V, C, 1, p.lnf.out, C, wu, C, 0, logits, V)
	for i := 0; i < N; i++ {
		row := logits[i*V : (i+1)*V]
		for j := range row {
			row[j] += bu[j]
		}
	}
	p.Logits = tensor.View(logits, B, T, V)
	p.Losses = tensor.View(ar.get(N), B, T)
	p.Loss = float32(math.NaN())
	if targets != nil {
		for i, t := range targets {
			if t >= V {
				return nil, fmt.Errorf("models: target id %d at position %d is out of range [0,%d)", t, i, V)
			}
		}
		p.lse = ar.get(N)
		sum, n := crossEntropy(p.Losses.Data, p.lse, logits, targets, N, V)
		p.nLoss = n
		if n > 0 {
			p.Loss = float32(sum / float64(n))
		}
	}
	return p, nil
}

func add(ar *arena, a, b []float32) []float32 {
	out := ar.get(len(a))
	for i := range out {
		out[i] = a[i] + b[i]
	}
	return out
}

// layerNorm runs a pre-LayerNorm with its two TransformerLens hook points:
// prefix+"hook_scale" [B,T,1], √(var+ε), and prefix+"hook_normalized"
// [B,T,C], the output after gain and bias (TransformerLens's LayerNorm).
// Without LayerNorm it is the identity and fires nothing.
func (m *Model) layerNorm(r runner, ar *arena, prefix string, x, w, b []float32, B, T int) (lnActs, error) {
	if !m.Config.HasLN() {
		return lnActs{out: x}, nil
	}
	C, N := m.Config.DModel, B*T
	a := lnActs{xhat: ar.get(N * C), scale: ar.get(N), out: ar.get(N * C)}
	layerNormStats(a.xhat, a.scale, x, N, C, m.Config.LNEps)
	if err := r.fire(prefix+"hook_scale", a.scale, B, T, 1); err != nil {
		return a, err
	}
	layerNormNormalize(a.xhat, a.scale, N, C)
	layerNormAffine(a.out, a.xhat, w, b, N, C)
	if err := r.fire(prefix+"hook_normalized", a.out, B, T, C); err != nil {
		return a, err
	}
	return a, nil
}

// attnBlock is the number of query rows multiplied at once in attention, so
// that each block skips the keys the causal mask hides from all its rows.
const attnBlock = 32

// attention computes hook_attn_scores, hook_pattern and hook_z for one block
// (Vaswani et al. 2017 with a causal mask): scores = q·kᵀ/√D per (batch, head).
func (m *Model) attention(r runner, ar *arena, pre string, a *layerActs, B, T int) error {
	c := m.Config
	H, D := c.NHeads, c.DHead
	HD := H * D
	scale := float32(1 / math.Sqrt(float64(D)))
	negInf := float32(math.Inf(-1))
	a.scores = ar.get(B * H * T * T)
	a.pattern = ar.get(B * H * T * T)
	a.z = ar.get(B * T * HD)
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			off := b*T*HD + h*D
			s := a.scores[bh*T*T : (bh+1)*T*T]
			// Query block [i0,i1) sees keys [0,i1) only: skip the masked half.
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				tensor.Gemm(false, true, i1-i0, i1, D, scale, a.q[off+i0*HD:], HD, a.k[off:], HD, 0, s[i0*T:], T)
			}
			for i := 0; i < T; i++ {
				row := s[i*T : (i+1)*T]
				for j := i + 1; j < T; j++ {
					row[j] = negInf
				}
			}
		}
	})
	if err := r.fire(pre+"attn.hook_attn_scores", a.scores, B, H, T, T); err != nil {
		return err
	}
	parallelFor(B*H*T, 64, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			i := row % T
			softmaxCausalRow(a.pattern[row*T:(row+1)*T], a.scores[row*T:(row+1)*T], i)
		}
	})
	if err := r.fire(pre+"attn.hook_pattern", a.pattern, B, H, T, T); err != nil {
		return err
	}
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			off := b*T*HD + h*D
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				tensor.Gemm(false, false, i1-i0, D, i1, 1, a.pattern[bh*T*T+i0*T:], T, a.v[off:], HD, 0, a.z[off+i0*HD:], HD)
			}
		}
	})
	return r.fire(pre+"attn.hook_z", a.z, B, T, H, D)
}
