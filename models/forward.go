package models

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/parallel"
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
	// SplitInputs gives each head its own query, key and value input,
	// blocks.{l}.hook_q_input [B,T,H,C] and hook_k_input, hook_v_input
	// [B,T,K,C] (copies of resid_pre; K key/value heads), and the MLP its
	// own, blocks.{l}.hook_mlp_in [B,T,C] (a copy of its input, resid_mid or
	// in parallel blocks resid_pre): TransformerLens's use_split_qkv_input
	// and use_hook_mlp_in. Replacing one of them changes what that head (or
	// MLP) reads and nothing else, which edge patching needs. ln1 then runs
	// on each head's inputs separately and its hook points do not fire. It
	// costs 9H times the memory of hook_resid_pre per block.
	SplitInputs bool
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
	// KV, if set, is a key/value cache holding the positions already run:
	// tokens are the next positions, attending to the cached keys and
	// values, and their own keys and values join the cache (see KVCache).
	// Hooks see the new positions only; Backward refuses such a pass.
	KV *KVCache
	// lastLogits computes the logits of each sequence's last position only
	// (Logits [B,1,V]), as generation needs; every hook still fires on
	// every position. Targets are refused.
	lastLogits bool
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
	split    bool
	last     bool // Options.lastLogits
	retained bool
	noGrad   bool
	kv       *KVCache // with Options.KV: the cache, and off the position of the first token
	off      int

	mem        arena     // every buffer below, for Release
	embed, pos []float32 // [B,T,C] hook_embed, hook_pos_embed (nil with rotary positions)
	cos, sin   []float32 // [T,R/2] rotary tables (rotary positions only)
	layers     []layerActs
	resid      []float32 // [B,T,C] final residual stream
	lnf        lnActs
}

type lnActs struct {
	xhat, scale, out []float32 // [B,T,C], [B,T], [B,T,C]
}

type layerActs struct {
	residPre        []float32    // [B,T,C]
	ln1             lnActs       // out aliases residPre without LayerNorm
	qkvIn           [3][]float32 // [B,T,H,C], [B,T,K,C] q, k, v inputs when Options.SplitInputs
	qkvLN           [3]lnActs    // ln1 of each, over B·T·heads rows
	q               []float32    // [B,T,H,D]
	k, v            []float32    // [B,T,K,D]
	qr, kr          []float32    // q, k rotated (rotary positions), else aliases of q, k
	scores          []float32    // [B,H,T,T], masked entries -Inf
	pattern         []float32    // [B,H,T,T]
	z               []float32    // [B,T,H,D]
	result          []float32    // [B,T,H,C] when Options.AttnResult
	attnOut         []float32    // [B,T,C]
	residMid        []float32    // [B,T,C] (sequential MLP models)
	mlpIn           []float32    // [B,T,C] when Options.SplitInputs, else the MLP's input
	ln2             lnActs
	mlpPre, mlpPost []float32 // [B,T,M]
	mlpLin, mlpAct  []float32 // [B,T,M] gated MLP: hook_pre_linear, act(pre)
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

// Final is the final LayerNorm's output [B,T,C] (ln_final.hook_normalized;
// the last resid_post in a model without LayerNorm): what the unembedding
// reads, and what another head on the model, such as a reward head, reads.
// It is a view, valid until the pass is released.
func (p *Pass) Final() *tensor.Tensor {
	return tensor.View(p.lnf.out, p.B, p.T, len(p.lnf.out)/(p.B*p.T))
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
// cross-entropy. It fires every hook point through opt.Hook. A panic
// inside the pass, on any of its worker goroutines, is returned as an error
// (a *parallel.Panic).
func (m *Model) Forward(tokens []int, B, T int, targets []int, opt *Options) (_ *Pass, err error) {
	defer parallel.Recover(&err, "models: forward pass")
	if err := m.CheckTokens(tokens, B, T); err != nil {
		return nil, err
	}
	if targets != nil && len(targets) != B*T {
		return nil, fmt.Errorf("models: %d targets for %d tokens", len(targets), B*T)
	}
	if opt == nil {
		opt = &Options{}
	}
	r := runner{hook: opt.Hook}
	if opt.NoGrad {
		r.keep = opt.Keep
	}
	if opt.lastLogits && targets != nil {
		return nil, fmt.Errorf("models: a pass computing the last position's logits only takes no targets")
	}
	p := &Pass{B: B, T: T, Tokens: tokens, Targets: targets, result: opt.AttnResult, split: opt.SplitInputs, noGrad: opt.NoGrad, last: opt.lastLogits}
	if opt.KV != nil {
		if err := opt.KV.check(m.Config, B, T); err != nil {
			return nil, err
		}
		p.kv, p.off = opt.KV, opt.KV.Len
		defer func() {
			if err == nil {
				opt.KV.Len += T
			}
		}()
	}

	x, err := m.embedForward(r, p) // [B,T,C] resid_pre of block 0
	if err != nil {
		return nil, err
	}
	p.layers = make([]layerActs, m.Config.NLayers)
	for l := range p.layers {
		la := &p.mem // where this block's activations live
		if opt.NoGrad {
			la = &arena{}
			r.from, r.to = la, &p.mem
		}
		if x, err = m.blockForward(r, la, p, l, x); err != nil {
			return nil, err
		}
		if opt.NoGrad {
			la.release()
			p.layers[l] = layerActs{residPost: x}
		}
	}
	p.resid = x
	r.from = nil // the final LayerNorm and the logits live in the pass's arena
	if err := m.unembedForward(r, p, x); err != nil {
		return nil, err
	}
	if err := m.loss(p); err != nil {
		return nil, err
	}
	return p, nil
}

// loss fills p.Losses [B,T] and p.Loss from the logits and the targets (NaN
// without targets), keeping each row's log-sum-exp for Backward.
func (m *Model) loss(p *Pass) error {
	N, V := p.B*p.T, m.Config.DVocab
	if p.last {
		p.Losses = tensor.View(p.mem.get(p.B), p.B, 1)
		p.Loss = float32(math.NaN())
		return nil
	}
	p.Losses = tensor.View(p.mem.get(N), p.B, p.T)
	p.Loss = float32(math.NaN())
	if p.Targets == nil {
		return nil
	}
	for i, t := range p.Targets {
		if t >= V {
			return fmt.Errorf("models: target id %d at position %d is out of range [0,%d)", t, i, V)
		}
	}
	p.lse = p.mem.get(N)
	sum, n := crossEntropy(p.Losses.Data, p.lse, p.Logits.Data, p.Targets, N, V)
	p.nLoss = n
	if n > 0 {
		p.Loss = float32(sum / float64(n))
	}
	return nil
}
