package models

import (
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// The model's layers as llm.c's train_gpt2.c writes them: each layer's
// forward beside its backward, on plain slices, firing the hook points of
// that layer. Forward and Backward only chain them. Shapes are in the
// comments; N stands for B·T rows, H for query heads, K for key/value heads
// (K = H unless grouped-query), D for d_head, M for d_mlp.

// embedForward fills hook_embed [B,T,C] = W_E[token] and hook_pos_embed
// [B,T,C] = W_pos[t], and returns resid_pre of block 0: their sum, or the
// token embedding alone for shortformer positions, which enter Q and K only,
// and for rotary positions, which have no embedding (and no hook_pos_embed)
// but the rotation tables cos, sin [T,R/2] the blocks share.
func (m *Model) embedForward(r runner, p *Pass) ([]float32, error) {
	c := m.Config
	B, T, C := p.B, p.T, c.DModel
	N := B * T
	wte := m.Params.slice("wte.weight")
	ar := &p.mem
	p.embed = ar.getDirty(N * C)
	parallelFor(N, 64, func(lo, hi int) {
		for i, tok := range p.Tokens[lo:hi] {
			copy(p.embed[(lo+i)*C:(lo+i+1)*C], wte[tok*C:(tok+1)*C])
		}
	})
	if err := r.fire(ActName("embed", 0), p.embed, B, T, C); err != nil {
		return nil, err
	}
	x := ar.getDirty(N * C)
	copy(x, p.embed)
	if !c.HasPosEmbed() {
		// With a key/value cache the tokens sit at positions off..off+T−1.
		n, h := p.off+T, c.RotaryDim/2
		cos, sin := ar.getDirty(n*h), ar.getDirty(n*h)
		rotaryTables(cos, sin, n, c.RotaryDim, c.RotaryBase, c.RotaryScaling)
		p.cos, p.sin = cos[p.off*h:], sin[p.off*h:]
		return x, nil
	}
	wpe := m.Params.slice("wpe.weight")
	p.pos = ar.getDirty(N * C)
	parallelFor(N, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			t := i%T + p.off
			copy(p.pos[i*C:(i+1)*C], wpe[t*C:(t+1)*C])
		}
	})
	if err := r.fire(ActName("pos_embed", 0), p.pos, B, T, C); err != nil {
		return nil, err
	}
	if c.Positional != PosShortformer {
		parallelFor(N, 64, func(lo, hi int) {
			x, pos := x[lo*C:hi*C], p.pos[lo*C:hi*C]
			for i := range x {
				x[i] += pos[i]
			}
		})
	}
	return x, nil
}

// embedBackward fires the embedding gradients and adds them into W_E and
// W_pos: dx [B,T,C] is the gradient at resid_pre of block 0, dposShort
// (shortformer only) the gradient that reached the positions through Q and K.
func (m *Model) embedBackward(g gradRunner, p *Pass, grads *Params, dx, dposShort []float32) error {
	B, T, C := p.B, p.T, m.Config.DModel
	hasPos := m.Config.HasPosEmbed()
	dpos := dx
	if m.Config.Positional == PosShortformer {
		dpos = dposShort
	}
	if err := g.fire(ActName("embed", 0), dx, B, T, C); err != nil {
		return err
	}
	if hasPos {
		if err := g.fire(ActName("pos_embed", 0), dpos, B, T, C); err != nil {
			return err
		}
	}
	dwte, dwpe := grads.slice("wte.weight"), grads.slice("wpe.weight")
	// By columns, so that a token repeated in the batch is summed by one
	// worker, in the order of the positions.
	parallelCols(B*T, C, func(j0, j1 int) {
		for i, tok := range p.Tokens {
			e, d := dwte[tok*C+j0:tok*C+j1], dx[i*C+j0:i*C+j1]
			for j := range e {
				e[j] += d[j]
			}
			if hasPos {
				t := i % T
				q, d := dwpe[t*C+j0:t*C+j1], dpos[i*C+j0:i*C+j1]
				for j := range q {
					q[j] += d[j]
				}
			}
		}
	})
	return nil
}

// blockForward runs block l on its resid_pre x [B,T,C] and returns its
// resid_post [B,T,C], allocated from the pass's arena so that it outlives
// the block; every other activation of the block comes from la. Sequential
// blocks compute resid_mid = resid_pre + attn_out and resid_post = resid_mid
// + mlp_out; parallel ones (GPT-NeoX) feed resid_pre to both halves and
// compute resid_post = resid_pre + attn_out + mlp_out.
func (m *Model) blockForward(r runner, la *arena, p *Pass, l int, x []float32) ([]float32, error) {
	a := &p.layers[l]
	w := m.Params.layer(l)
	c := m.Config
	a.residPre = x
	if err := r.fire(ActName("resid_pre", l), a.residPre, p.B, p.T, c.DModel); err != nil {
		return nil, err
	}
	if err := m.attnForward(r, la, p, l, a, w); err != nil {
		return nil, err
	}
	switch {
	case c.AttnOnly:
		a.residPost = add(&p.mem, a.residPre, a.attnOut)
	case c.ParallelAttnMLP:
		if err := m.mlpForward(r, la, p, l, a, w, a.residPre); err != nil {
			return nil, err
		}
		a.residPost = add(&p.mem, a.residPre, a.attnOut, a.mlpOut)
	default:
		a.residMid = add(la, a.residPre, a.attnOut)
		if err := r.fire(ActName("resid_mid", l), a.residMid, p.B, p.T, c.DModel); err != nil {
			return nil, err
		}
		if err := m.mlpForward(r, la, p, l, a, w, a.residMid); err != nil {
			return nil, err
		}
		a.residPost = add(&p.mem, a.residMid, a.mlpOut)
	}
	if err := r.fire(ActName("resid_post", l), a.residPost, p.B, p.T, c.DModel); err != nil {
		return nil, err
	}
	return a.residPost, nil
}

// blockBackward takes the gradient dx [B,T,C] at block l's resid_post,
// adds the block's parameter gradients into grads, and returns the gradient
// at its resid_pre. Shortformer adds the positions' share into dposShort.
func (m *Model) blockBackward(g gradRunner, ar *arena, p *Pass, grads *Params, l int, dx, dposShort []float32) ([]float32, error) {
	a := &p.layers[l]
	w, dw := m.Params.layer(l), grads.layer(l)
	B, T, C := p.B, p.T, m.Config.DModel
	if err := g.fire(ActName("resid_post", l), dx, B, T, C); err != nil {
		return nil, err
	}
	// dOut reaches attn_out; dResid is what reaches resid_pre around the
	// attention (through the residual, and in parallel blocks the MLP).
	dOut, dResid := dx, dx
	if !m.Config.AttnOnly {
		din, err := m.mlpBackward(g, ar, B, T, l, p.split, a, w, dw, dx)
		if err != nil {
			return nil, err
		}
		dResid = din
		if !m.Config.ParallelAttnMLP {
			if err := g.fire(ActName("resid_mid", l), din, B, T, C); err != nil {
				return nil, err
			}
			dOut = din
		}
	}
	dpre, err := m.attnBackward(g, ar, p, l, a, w, dw, dOut, dResid, dposShort)
	if err != nil {
		return nil, err
	}
	if err := g.fire(ActName("resid_pre", l), dpre, B, T, C); err != nil {
		return nil, err
	}
	return dpre, nil
}

// qkvSplit gives the column offset and width of Q, K and V (i = 0, 1, 2)
// inside the fused [C,HD+2KD] weight and its bias.
func (c Config) qkvSplit(i int) (off, width int) {
	HD, KD := c.NHeads*c.DHead, c.NKVHeads*c.DHead
	return [3]int{0, HD, HD + KD}[i], [3]int{HD, KD, KD}[i]
}

// biasPart is b[off:off+n], or nil for a model without that bias.
func biasPart(b []float32, off, n int) []float32 {
	if b == nil {
		return nil
	}
	return b[off : off+n]
}

// attnForward is the attention half of block l: ln1, then Q [B,T,H,D] and
// K, V [B,T,K,D] from the fused weight, rotated into hook_rot_q and
// hook_rot_k with rotary positions, the attention pattern and z, and the
// output projection into hook_attn_out [B,T,C], per head through hook_result
// [B,T,H,C] when the pass asks for it, so that a replaced head output changes
// the sum.
func (m *Model) attnForward(r runner, la *arena, p *Pass, l int, a *layerActs, w layer) error {
	c := m.Config
	B, T := p.B, p.T
	C, H, K, D := c.DModel, c.NHeads, c.NKVHeads, c.DHead
	HD, N := H*D, B*T
	ldw := HD + 2*K*D
	var err error
	a.q, a.k, a.v = la.getDirty(N*HD), la.getDirty(N*K*D), la.getDirty(N*K*D)
	if p.split {
		if err := m.splitQKVForward(r, la, p, l, a, w); err != nil {
			return err
		}
	} else if a.ln1, err = m.layerNorm(r, la, l, "ln1", a.residPre, w.ln1w, w.ln1b, B, T); err != nil {
		return err
	}
	// Shortformer adds the positional embedding to the inputs of Q and K only.
	heads := [3]int{H, K, K}
	// One product for q, k and v [N,HD+2KD], copied out: at 128 rows it
	// took two thirds of the time of three products of a third of the width.
	var fused []float32
	if !p.split {
		fused = la.getDirty(N * ldw)
		linear(fused, a.ln1.out, w.attnW, ldw, w.attnB, N, C, ldw)
	}
	if fused != nil {
		parallelFor(N, 32, func(lo, hi int) {
			for i, dst := range [][]float32{a.q, a.k, a.v} {
				off, n := c.qkvSplit(i)
				for r := lo; r < hi; r++ {
					copy(dst[r*n:(r+1)*n], fused[r*ldw+off:r*ldw+off+n])
				}
			}
		})
	}
	for i, dst := range [][]float32{a.q, a.k, a.v} {
		off, n := c.qkvSplit(i)
		if c.Positional == PosShortformer && i < 2 {
			tensor.Gemm(false, false, N, n, C, 1, p.pos, C, w.attnW[off:], ldw, 1, dst, n)
		}
	}
	for i, s := range [][]float32{a.q, a.k, a.v} {
		if err := r.fire(ActName(qkvNames[i], l), s, B, T, heads[i], D); err != nil {
			return err
		}
	}
	a.qr, a.kr = a.q, a.k
	if c.Positional == PosRotary {
		a.qr, a.kr = la.getDirty(N*HD), la.getDirty(N*K*D)
		rotary(a.qr, a.q, p.cos, p.sin, N, T, H, D, c.RotaryDim)
		rotary(a.kr, a.k, p.cos, p.sin, N, T, K, D, c.RotaryDim)
		if err := r.fire(ActName("rot_q", l), a.qr, B, T, H, D); err != nil {
			return err
		}
		if err := r.fire(ActName("rot_k", l), a.kr, B, T, K, D); err != nil {
			return err
		}
	}
	if p.kv != nil {
		err = m.attentionCached(r, la, p, l, a)
	} else {
		err = m.attention(r, la, l, a, B, T)
	}
	if err != nil {
		return err
	}

	if !p.result {
		a.attnOut = la.getDirty(N * C)
		linear(a.attnOut, a.z, w.projW, C, w.projB, N, HD, C)
	} else {
		a.attnOut = la.get(N * C) // the heads' sum accumulates into it
		a.result = la.getDirty(N * H * C)
		for h := 0; h < H; h++ {
			// result[:, :, h, :] = z[:, :, h, :] · W_O[h]
			tensor.Gemm(false, false, N, C, D, 1, a.z[h*D:], HD, w.projW[h*D*C:], C, 0, a.result[h*C:], H*C)
		}
		if err := r.fire(ActName("result", l), a.result, B, T, H, C); err != nil {
			return err
		}
		for i := 0; i < N; i++ {
			o := a.attnOut[i*C : (i+1)*C]
			if w.projB != nil {
				copy(o, w.projB)
			}
			for h := 0; h < H; h++ {
				rh := a.result[(i*H+h)*C : (i*H+h+1)*C]
				for j := range o {
					o[j] += rh[j]
				}
			}
		}
	}
	return r.fire(ActName("attn_out", l), a.attnOut, B, T, C)
}

var qkvNames = [3]string{"q", "k", "v"}

// attnBackward takes dOut [B,T,C], the gradient at attn_out, and dResid
// [B,T,C], the gradient that reaches resid_pre by every other path, and
// returns the gradient at resid_pre: dResid plus what flows back through
// attention and ln1.
func (m *Model) attnBackward(g gradRunner, ar *arena, p *Pass, l int, a *layerActs, w, dw layer, dOut, dResid, dposShort []float32) ([]float32, error) {
	c := m.Config
	B, T := p.B, p.T
	C, H, K, D := c.DModel, c.NHeads, c.NKVHeads, c.DHead
	HD, N := H*D, B*T
	ldw := HD + 2*K*D
	if err := g.fire(ActName("attn_out", l), dOut, B, T, C); err != nil {
		return nil, err
	}
	if p.result && g.fn != nil {
		// Every head's result enters attn_out with weight one.
		dres := ar.get(N * H * C)
		for i := 0; i < N; i++ {
			for h := 0; h < H; h++ {
				copy(dres[(i*H+h)*C:(i*H+h+1)*C], dOut[i*C:(i+1)*C])
			}
		}
		if err := g.fire(ActName("result", l), dres, B, T, H, C); err != nil {
			return nil, err
		}
	}
	// attn_out = z · W_O + b_O.
	dz := ar.get(N * HD)
	linearBackward(dz, dw.projW, C, dw.projB, dOut, a.z, w.projW, N, HD, C)
	if err := g.fire(ActName("z", l), dz, B, T, H, D); err != nil {
		return nil, err
	}
	dpre := ar.get(N * C)
	if g.fn == nil && !p.split && c.Positional != PosRotary && c.Positional != PosShortformer {
		// Nothing reads dq, dk and dv but the fused weight's gradient: they
		// are written as the column blocks of one [N,HD+2KD] gradient, and
		// its products are one each (a third of the packing, and longer
		// products) instead of three.
		dqkv := ar.get(N * ldw)
		if err := m.attentionBackward(g, ar, l, dqkv, dqkv[HD:], dqkv[HD+K*D:], ldw, dz, a, B, T); err != nil {
			return nil, err
		}
		dln1 := ar.get(N * C)
		linearBackward(dln1, dw.attnW, ldw, dw.attnB, dqkv, a.ln1.out, w.attnW, N, C, ldw)
		copy(dpre, dResid)
		if err := m.layerNormBackward(g, l, "ln1", dpre, dw.ln1w, dw.ln1b, dln1, a.ln1, w.ln1w, B, T); err != nil {
			return nil, err
		}
		return dpre, nil
	}
	dq, dk, dv := ar.get(N*HD), ar.get(N*K*D), ar.get(N*K*D)
	if err := m.attentionBackward(g, ar, l, dq, dk, dv, 0, dz, a, B, T); err != nil {
		return nil, err
	}
	if c.Positional == PosRotary {
		// dq, dk arrive at hook_rot_q, hook_rot_k; the rotation is
		// orthogonal, so its transpose carries them back to hook_q, hook_k.
		if err := g.fire(ActName("rot_q", l), dq, B, T, H, D); err != nil {
			return nil, err
		}
		if err := g.fire(ActName("rot_k", l), dk, B, T, K, D); err != nil {
			return nil, err
		}
		rotaryBackward(dq, p.cos, p.sin, N, T, H, D, c.RotaryDim)
		rotaryBackward(dk, p.cos, p.sin, N, T, K, D, c.RotaryDim)
	}
	heads := [3]int{H, K, K}
	dln1 := ar.get(N * C)
	for i, d := range [][]float32{dq, dk, dv} {
		if err := g.fire(ActName(qkvNames[i], l), d, B, T, heads[i], D); err != nil {
			return nil, err
		}
		off, n := c.qkvSplit(i)
		if !p.split {
			linearBackward(dln1, dw.attnW[off:], ldw, biasPart(dw.attnB, off, n), d, a.ln1.out, w.attnW[off:], N, C, n)
		}
		if c.Positional == PosShortformer && i < 2 {
			tensor.Gemm(true, false, C, n, N, 1, p.pos, C, d, n, 1, dw.attnW[off:], ldw)
			tensor.Gemm(false, true, N, C, n, 1, d, n, w.attnW[off:], ldw, 1, dposShort, C)
		}
	}
	copy(dpre, dResid)
	if p.split {
		return dpre, m.splitQKVBackward(g, ar, p, l, a, w, dw, dq, dk, dv, dpre)
	}
	if err := m.layerNormBackward(g, l, "ln1", dpre, dw.ln1w, dw.ln1b, dln1, a.ln1, w.ln1w, B, T); err != nil {
		return nil, err
	}
	return dpre, nil
}

var qkvInputNames = [3]string{"q_input", "k_input", "v_input"}

// splitQKVForward fills a.q [B,T,H,D] and a.k, a.v [B,T,K,D] (bias
// included, shortformer positions and rotation not) from per-head inputs
// (Options.SplitInputs): for each of q, k, v, hook_X_input [B,T,heads,C]
// starts as resid_pre copied to every head, ln1 runs on each of its
// B·T·heads rows, and head h's slice of W_X reads row h.
func (m *Model) splitQKVForward(r runner, la *arena, p *Pass, l int, a *layerActs, w layer) error {
	c := m.Config
	B, T := p.B, p.T
	C, D := c.DModel, c.DHead
	N, ldw := B*T, (c.NHeads+2*c.NKVHeads)*c.DHead
	for i, dst := range [][]float32{a.q, a.k, a.v} {
		off, width := c.qkvSplit(i)
		H := width / D
		in := la.getDirty(N * H * C)
		for n := 0; n < N; n++ {
			for h := 0; h < H; h++ {
				copy(in[(n*H+h)*C:(n*H+h+1)*C], a.residPre[n*C:(n+1)*C])
			}
		}
		if err := r.fire(ActName(qkvInputNames[i], l), in, B, T, H, C); err != nil {
			return err
		}
		ln, err := m.layerNorm(runner{}, la, l, "ln1", in, w.ln1w, w.ln1b, N*H, 1)
		if err != nil {
			return err
		}
		a.qkvIn[i], a.qkvLN[i] = in, ln
		for h := 0; h < H; h++ {
			// dst[:, h, :] = ln[:, h, :] · W_X[:, h·D:(h+1)·D]
			tensor.Gemm(false, false, N, D, C, 1, ln.out[h*C:], H*C, w.attnW[off+h*D:], ldw, 0, dst[h*D:], width)
		}
		if b := biasPart(w.attnB, off, width); b != nil {
			for n := 0; n < N; n++ {
				row := dst[n*width : (n+1)*width]
				for j := range row {
					row[j] += b[j]
				}
			}
		}
	}
	return nil
}

// splitQKVBackward is splitQKVForward's backward: given dq [B,T,H,D] and
// dk, dv [B,T,K,D] it adds the weight, bias and ln1 gradients, fires the
// gradients at the three split inputs, and adds their sum over heads into
// dpre [B,T,C].
func (m *Model) splitQKVBackward(g gradRunner, ar *arena, p *Pass, l int, a *layerActs, w, dw layer, dq, dk, dv, dpre []float32) error {
	c := m.Config
	B, T := p.B, p.T
	C, D := c.DModel, c.DHead
	N, ldw := B*T, (c.NHeads+2*c.NKVHeads)*c.DHead
	for i, d := range [][]float32{dq, dk, dv} {
		off, width := c.qkvSplit(i)
		H := width / D
		dln, din := ar.get(N*H*C), ar.get(N*H*C)
		ln := a.qkvLN[i]
		for h := 0; h < H; h++ {
			tensor.Gemm(true, false, C, D, N, 1, ln.out[h*C:], H*C, d[h*D:], width, 1, dw.attnW[off+h*D:], ldw)
			tensor.Gemm(false, true, N, C, D, 1, d[h*D:], width, w.attnW[off+h*D:], ldw, 0, dln[h*C:], H*C)
		}
		if db := biasPart(dw.attnB, off, width); db != nil {
			for n := 0; n < N; n++ {
				for j, x := range d[n*width : (n+1)*width] {
					db[j] += x
				}
			}
		}
		if err := m.layerNormBackward(gradRunner{}, l, "ln1", din, dw.ln1w, dw.ln1b, dln, ln, w.ln1w, N*H, 1); err != nil {
			return err
		}
		if err := g.fire(ActName(qkvInputNames[i], l), din, B, T, H, C); err != nil {
			return err
		}
		for n := 0; n < N; n++ {
			o := dpre[n*C : (n+1)*C]
			for h := 0; h < H; h++ {
				for j, x := range din[(n*H+h)*C : (n*H+h+1)*C] {
					o[j] += x
				}
			}
		}
	}
	return nil
}

// mlpForward is the MLP half of block l on its input x (resid_mid, or
// resid_pre in parallel blocks): hook_mlp_out [B,T,C] = post · W_out + b_out
// with post = act(pre), pre = ln2(x) · W_in + b_in, through hook_pre and
// hook_post [B,T,M]. A gated MLP computes pre = ln2(x) · W_gate + b_gate,
// hook_pre_linear = ln2(x) · W_in + b_in, and post = act(pre) · pre_linear,
// as TransformerLens's GatedMLP.
func (m *Model) mlpForward(r runner, la *arena, p *Pass, l int, a *layerActs, w layer, x []float32) error {
	B, T := p.B, p.T
	c := m.Config
	C, M, N := c.DModel, c.DMLP, B*T
	var err error
	a.mlpIn = x
	if p.split {
		a.mlpIn = la.getDirty(N * C)
		copy(a.mlpIn, x)
		if err := r.fire(ActName("mlp_in", l), a.mlpIn, B, T, C); err != nil {
			return err
		}
	}
	if a.ln2, err = m.layerNorm(r, la, l, "ln2", a.mlpIn, w.ln2w, w.ln2b, B, T); err != nil {
		return err
	}
	a.mlpPre, a.mlpPost = la.getDirty(N*M), la.getDirty(N*M)
	if !c.GatedMLP {
		linear(a.mlpPre, a.ln2.out, w.fcW, M, w.fcB, N, C, M)
		if err := r.fire(ActName("pre", l), a.mlpPre, B, T, M); err != nil {
			return err
		}
		activation(c.ActFn, a.mlpPost, a.mlpPre)
	} else {
		linear(a.mlpPre, a.ln2.out, w.gateW, M, w.gateB, N, C, M)
		if err := r.fire(ActName("pre", l), a.mlpPre, B, T, M); err != nil {
			return err
		}
		a.mlpLin = la.getDirty(N * M)
		linear(a.mlpLin, a.ln2.out, w.fcW, M, w.fcB, N, C, M)
		if err := r.fire(ActName("pre_linear", l), a.mlpLin, B, T, M); err != nil {
			return err
		}
		a.mlpAct = la.getDirty(N * M)
		activation(c.ActFn, a.mlpAct, a.mlpPre)
		parallelFor(N*M, 1<<14, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				a.mlpPost[i] = a.mlpAct[i] * a.mlpLin[i]
			}
		})
	}
	if err := r.fire(ActName("post", l), a.mlpPost, B, T, M); err != nil {
		return err
	}
	a.mlpOut = la.getDirty(N * C)
	linear(a.mlpOut, a.mlpPost, w.fcProjW, C, w.fcPrB, N, M, C)
	return r.fire(ActName("mlp_out", l), a.mlpOut, B, T, C)
}

// mlpBackward takes dx [B,T,C], the gradient at resid_post, which reaches
// mlp_out unchanged, and returns the gradient at the MLP's input: dx plus
// what flows back through the MLP and ln2.
func (m *Model) mlpBackward(g gradRunner, ar *arena, B, T, l int, split bool, a *layerActs, w, dw layer, dx []float32) ([]float32, error) {
	c := m.Config
	C, M, N := c.DModel, c.DMLP, B*T
	if err := g.fire(ActName("mlp_out", l), dx, B, T, C); err != nil {
		return nil, err
	}
	dpost := ar.get(N * M)
	linearBackward(dpost, dw.fcProjW, C, dw.fcPrB, dx, a.mlpPost, w.fcProjW, N, M, C)
	if err := g.fire(ActName("post", l), dpost, B, T, M); err != nil {
		return nil, err
	}
	dln2 := ar.get(N * C)
	dpre := ar.get(N * M)
	if !c.GatedMLP {
		activationBackward(c.ActFn, dpre, dpost, a.mlpPre)
		if err := g.fire(ActName("pre", l), dpre, B, T, M); err != nil {
			return nil, err
		}
		linearBackward(dln2, dw.fcW, M, dw.fcB, dpre, a.ln2.out, w.fcW, N, C, M)
	} else {
		// post = act(pre)·lin: dlin = dpost·act(pre), dact = dpost·lin.
		dlin, dact := ar.get(N*M), ar.get(N*M)
		for i, d := range dpost {
			dlin[i] = d * a.mlpAct[i]
			dact[i] = d * a.mlpLin[i]
		}
		if err := g.fire(ActName("pre_linear", l), dlin, B, T, M); err != nil {
			return nil, err
		}
		activationBackward(c.ActFn, dpre, dact, a.mlpPre)
		if err := g.fire(ActName("pre", l), dpre, B, T, M); err != nil {
			return nil, err
		}
		linearBackward(dln2, dw.gateW, M, dw.gateB, dpre, a.ln2.out, w.gateW, N, C, M)
		linearBackward(dln2, dw.fcW, M, dw.fcB, dlin, a.ln2.out, w.fcW, N, C, M)
	}
	din := ar.get(N * C)
	if !split {
		copy(din, dx)
	}
	if err := m.layerNormBackward(g, l, "ln2", din, dw.ln2w, dw.ln2b, dln2, a.ln2, w.ln2w, B, T); err != nil {
		return nil, err
	}
	if split {
		// din holds the gradient at hook_mlp_in; the input adds the skip path.
		if err := g.fire(ActName("mlp_in", l), din, B, T, C); err != nil {
			return nil, err
		}
		for i, x := range dx {
			din[i] += x
		}
	}
	return din, nil
}

// unembedForward runs the final LayerNorm on the last resid_post x [B,T,C]
// and fills p.Logits [B,T,V] = ln_final · W_U + b_U, W_U stored [V,C].
func (m *Model) unembedForward(r runner, p *Pass, x []float32) error {
	c := m.Config
	B, T, C, V := p.B, p.T, c.DModel, c.DVocab
	N, ar := B*T, &p.mem
	var err error
	if p.lnf, err = m.layerNorm(r, ar, -1, "ln_final", x, m.Params.slice("ln_f.weight"), m.Params.slice("ln_f.bias"), B, T); err != nil {
		return err
	}
	wu, bu := m.Params.unembed(c)
	x, rows := p.lnf.out, T
	if p.last && T > 1 {
		x, rows = ar.getDirty(B*C), 1
		for b := 0; b < B; b++ {
			copy(x[b*C:(b+1)*C], p.lnf.out[(b*T+T-1)*C:(b*T+T)*C])
		}
	}
	N = B * rows
	logits := ar.getDirty(N * V)
	switch {
	case N <= fewRows:
		gemmFewRows(true, N, V, C, x, C, wu, C, logits, V, nil, ar.getDirty(N*V))
	case N < unembedDirectRows:
		// Blocks of 2^20 floats (4 MiB) of the transposed product.
		gemmTransWBlocked(N, V, C, x, C, wu, C, logits, V, ar.getDirty(max(N*32, min(N*V, 1<<20))))
	default:
		tensor.Gemm(false, true, N, V, C, 1, x, C, wu, C, 0, logits, V)
	}
	if bu != nil {
		parallelFor(N, 16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := logits[i*V : (i+1)*V]
				for j := range row {
					row[j] += bu[j]
				}
			}
		})
	}
	p.Logits = tensor.View(logits, B, rows, V)
	return nil
}

// unembedDirectRows is the fewest rows for which the unembedding is one
// product X · W_Uᵀ, W_U packed as tensor.Gemm's B, rather than blocks of
// W_U · Xᵀ transposed: from 512 rows the packing is shared by enough rows
// that the transposes cost more (2048 rows of shape C, vocabulary 4096,
// d_model 512: 52-59 ms blocked, 30-33 ms direct on 2 threads; 256 rows:
// 4.7-7.1 against 7.4-7.6; BenchmarkUnembed).
const unembedDirectRows = 512

// unembedBackward adds the unembedding's and the final LayerNorm's gradients
// into grads given dlogits [B,T,V], and returns the gradient at the last
// resid_post [B,T,C].
func (m *Model) unembedBackward(g gradRunner, ar *arena, p *Pass, grads *Params, dlogits []float32) ([]float32, error) {
	c := m.Config
	B, T, C, V := p.B, p.T, c.DModel, c.DVocab
	N := B * T
	wu, _ := m.Params.unembed(c)
	dwu, dbu := grads.unembed(c)
	tensor.Gemm(true, false, V, C, N, 1, dlogits, V, p.lnf.out, C, 1, dwu, C)
	if dbu != nil {
		addColSums(dbu, dlogits, N, V)
	}
	dlnf := ar.get(N * C)
	tensor.Gemm(false, false, N, C, V, 1, dlogits, V, wu, C, 0, dlnf, C)
	dx := ar.get(N * C)
	if err := m.layerNormBackward(g, -1, "ln_final", dx, grads.slice("ln_f.weight"), grads.slice("ln_f.bias"),
		dlnf, p.lnf, m.Params.slice("ln_f.weight"), B, T); err != nil {
		return nil, err
	}
	return dx, nil
}

// add returns a + b, or a + b + c given c, in a buffer from ar.
func add(ar *arena, a, b []float32, c ...[]float32) []float32 {
	out := ar.getDirty(len(a))
	parallelFor(len(out), 1<<14, func(lo, hi int) {
		o, x, y := out[lo:hi], a[lo:hi], b[lo:hi]
		for i := range o {
			o[i] = x[i] + y[i]
		}
		if len(c) > 0 {
			z := c[0][lo:hi]
			for i := range o {
				o[i] += z[i]
			}
		}
	})
	return out
}

// layerNorm runs a pre-LayerNorm (ln1 or ln2 of block l, or ln_final) with
// its two TransformerLens hook points: hook_scale [B,T,1], √(var+ε), and
// hook_normalized [B,T,C], the output after gain and bias (TransformerLens's
// LayerNorm). RMSNorm (Zhang & Sennrich 2019) divides by √(mean(x²)+ε)
// without centring and has no bias; its hook_normalized fires x/scale
// before the gain, as TransformerLens's RMSNorm. Without normalization it is
// the identity and fires nothing.
func (m *Model) layerNorm(r runner, ar *arena, l int, ln string, x, w, b []float32, B, T int) (lnActs, error) {
	c := m.Config
	if !c.HasNorm() {
		return lnActs{out: x}, nil
	}
	C, N := c.DModel, B*T
	a := lnActs{xhat: ar.getDirty(N * C), scale: ar.getDirty(N), out: ar.getDirty(N * C)}
	if c.Normalization == NormRMS {
		rmsNormStats(a.xhat, a.scale, x, N, C, c.LNEps)
	} else {
		layerNormStats(a.xhat, a.scale, x, N, C, c.LNEps)
	}
	if err := r.fire(ActName(ln+".scale", l), a.scale, B, T, 1); err != nil {
		return a, err
	}
	if c.Normalization != NormRMS {
		layerNormNormalizeAffine(a.out, a.xhat, a.scale, w, b, N, C)
		if err := r.fire(ActName(ln+".normalized", l), a.out, B, T, C); err != nil {
			return a, err
		}
		return a, nil
	}
	layerNormNormalize(a.xhat, a.scale, N, C)
	if err := r.fire(ActName(ln+".normalized", l), a.xhat, B, T, C); err != nil {
		return a, err
	}
	rmsNormGain(a.out, a.xhat, w, N, C)
	return a, nil
}

// layerNormBackward adds into dx the gradient through one LayerNorm or
// RMSNorm (or, with none configured, passes dout straight through), firing
// the gradient at its hook_normalized.
func (m *Model) layerNormBackward(g gradRunner, l int, ln string, dx, dw, db, dout []float32, a lnActs, w []float32, B, T int) error {
	c := m.Config
	if !c.HasNorm() {
		for i := range dx {
			dx[i] += dout[i]
		}
		return nil
	}
	C, N := c.DModel, B*T
	if c.Normalization == NormRMS {
		var ar arena
		defer ar.release()
		dxhat := ar.get(N * C)
		rmsNormGainBackward(dxhat, dw, dout, a.xhat, w, N, C)
		if err := g.fire(ActName(ln+".normalized", l), dxhat, B, T, C); err != nil {
			return err
		}
		rmsNormBackward(dx, dxhat, a.xhat, a.scale, N, C)
		return nil
	}
	if err := g.fire(ActName(ln+".normalized", l), dout, B, T, C); err != nil {
		return err
	}
	layerNormBackward(dx, dw, db, dout, a.xhat, a.scale, w, N, C)
	return nil
}

// attnBlock is the number of query rows multiplied at once in attention, so
// that each block skips the keys the causal mask hides from all its rows.
const attnBlock = 32

// attention computes hook_attn_scores, hook_pattern and hook_z for block l
// (Vaswani et al. 2017 with a causal mask): scores = q·kᵀ/√D per (batch,
// head), q and k after rotation with rotary positions. Query head h reads
// key/value head h/(H/K) (grouped-query attention; K = H otherwise).
//
// Each head's keys are first copied transposed (kᵀ [D,T]) and its values
// gathered ([T,D]), so that every product reads its B in place
// (tensor.Gemm's few-row path) instead of packing a slice of k or v again
// for each query block: with d_model 512 the heads' row stride (2 KB) made
// tensor.Gemm pack them, a fifth of the attention's time. Without a hook
// nothing can change the scores or the pattern between the three steps, so
// each head runs them one after the other while its T×T block is in cache.
func (m *Model) attention(r runner, ar *arena, l int, a *layerActs, B, T int) error {
	c := m.Config
	H, K, D := c.NHeads, c.NKVHeads, c.DHead
	HD, KD, G := H*D, K*D, H/K
	scale := float32(1 / math.Sqrt(float64(D)))
	negInf := float32(math.Inf(-1))
	a.scores = ar.getDirty(B * H * T * T)
	a.pattern = ar.getDirty(B * H * T * T)
	a.z = ar.getDirty(B * T * HD)
	ldt, ldd := headStride(T), headStride(D)
	heads := func(scores, pv bool) {
		parallelFor(B*H, 1, func(lo, hi int) {
			var wa arena
			defer wa.release()
			var kt, vh []float32
			if scores {
				kt = wa.getDirty(D * ldt)
			}
			if pv {
				vh = wa.getDirty(T * ldd)
			}
			for bh := lo; bh < hi; bh++ {
				b, h := bh/H, bh%H
				off, kvOff := b*T*HD+h*D, b*T*KD+(h/G)*D
				s, p := a.scores[bh*T*T:(bh+1)*T*T], a.pattern[bh*T*T:(bh+1)*T*T]
				if scores {
					transposeHead(kt, ldt, a.kr[kvOff:], KD, T, D)
					// Query block [i0,i1) sees keys [0,i1) only: skip the masked half.
					for i0 := 0; i0 < T; i0 += attnBlock {
						i1 := min(i0+attnBlock, T)
						tensor.Gemm(false, false, i1-i0, i1, D, scale, a.qr[off+i0*HD:], HD, kt, ldt, 0, s[i0*T:], T)
					}
					for i := 0; i < T; i++ {
						row := s[i*T : (i+1)*T]
						for j := i + 1; j < T; j++ {
							row[j] = negInf
						}
					}
				}
				if scores && pv {
					softmaxCausalRows(p, s, T, 0, T)
				}
				if pv {
					gatherHead(vh, ldd, a.v[kvOff:], KD, T, D)
					for i0 := 0; i0 < T; i0 += attnBlock {
						i1 := min(i0+attnBlock, T)
						tensor.Gemm(false, false, i1-i0, D, i1, 1, p[i0*T:], T, vh, ldd, 0, a.z[off+i0*HD:], HD)
					}
				}
			}
		})
	}
	fused := r.hook == nil
	heads(true, fused)
	if err := r.fire(ActName("attn_scores", l), a.scores, B, H, T, T); err != nil {
		return err
	}
	if !fused {
		parallelFor(B*H, 1, func(lo, hi int) {
			for bh := lo; bh < hi; bh++ {
				softmaxCausalRows(a.pattern[bh*T*T:(bh+1)*T*T], a.scores[bh*T*T:(bh+1)*T*T], T, 0, T)
			}
		})
	}
	if err := r.fire(ActName("pattern", l), a.pattern, B, H, T, T); err != nil {
		return err
	}
	if !fused {
		heads(false, true)
	}
	return r.fire(ActName("z", l), a.z, B, T, H, D)
}

// headStride is the row stride of a head's scratch copy of n columns: n,
// or n+16 when n is a multiple of 512 floats, where tensor.Gemm would pack
// the copy rather than read it in place (rows 2 KB apart share the L2's
// sets).
func headStride(n int) int {
	if n%512 == 0 {
		return n + 16
	}
	return n
}

// transposeHead sets dst [D,T] (row stride ldd) to the transpose of one
// head's T×D slice of src (rows lds apart): dst[d,t] = src[t,d]. Eight rows
// of src are read at once so that each write to dst is eight consecutive
// values: one value per row of dst, 1 KB apart, made it cost twice the
// products it serves.
func transposeHead(dst []float32, ldd int, src []float32, lds, T, D int) {
	t := 0
	for ; t+8 <= T; t += 8 {
		r0, r1 := src[t*lds:t*lds+D], src[(t+1)*lds:(t+1)*lds+D]
		r2, r3 := src[(t+2)*lds:(t+2)*lds+D], src[(t+3)*lds:(t+3)*lds+D]
		r4, r5 := src[(t+4)*lds:(t+4)*lds+D], src[(t+5)*lds:(t+5)*lds+D]
		r6, r7 := src[(t+6)*lds:(t+6)*lds+D], src[(t+7)*lds:(t+7)*lds+D]
		for d := range r0 {
			o := (*[8]float32)(dst[d*ldd+t : d*ldd+t+8])
			o[0], o[1], o[2], o[3] = r0[d], r1[d], r2[d], r3[d]
			o[4], o[5], o[6], o[7] = r4[d], r5[d], r6[d], r7[d]
		}
	}
	for ; t < T; t++ {
		for d, v := range src[t*lds : t*lds+D] {
			dst[d*ldd+t] = v
		}
	}
}

// untransposeAddHead adds the transpose of src [D,T] (rows lds apart) into
// one head's T×D slice of dst (rows ldd apart): dst[t,d] += src[d,t],
// eight rows of dst at a time.
func untransposeAddHead(dst []float32, ldd int, src []float32, lds, T, D int) {
	t := 0
	for ; t+8 <= T; t += 8 {
		r0, r1 := dst[t*ldd:t*ldd+D], dst[(t+1)*ldd:(t+1)*ldd+D]
		r2, r3 := dst[(t+2)*ldd:(t+2)*ldd+D], dst[(t+3)*ldd:(t+3)*ldd+D]
		r4, r5 := dst[(t+4)*ldd:(t+4)*ldd+D], dst[(t+5)*ldd:(t+5)*ldd+D]
		r6, r7 := dst[(t+6)*ldd:(t+6)*ldd+D], dst[(t+7)*ldd:(t+7)*ldd+D]
		for d := range r0 {
			v := (*[8]float32)(src[d*lds+t : d*lds+t+8])
			r0[d], r1[d], r2[d], r3[d] = r0[d]+v[0], r1[d]+v[1], r2[d]+v[2], r3[d]+v[3]
			r4[d], r5[d], r6[d], r7[d] = r4[d]+v[4], r5[d]+v[5], r6[d]+v[6], r7[d]+v[7]
		}
	}
	for ; t < T; t++ {
		row := dst[t*ldd : t*ldd+D]
		for d := range row {
			row[d] += src[d*lds+t]
		}
	}
}

// gatherHead copies one head's T×D slice of src (rows lds apart) into dst
// (rows ldd apart).
func gatherHead(dst []float32, ldd int, src []float32, lds, T, D int) {
	for t := 0; t < T; t++ {
		copy(dst[t*ldd:t*ldd+D], src[t*lds:t*lds+D])
	}
}

// softmaxBackwardRow turns d [T], the gradient at pattern row i (p), into
// the gradient at its scores in place: ds_j = p_j (dp_j − Σ_k p_k dp_k) for
// the keys j ≤ i the row sees, 0 past them.
func softmaxBackwardRow(p, d []float32, i int) {
	var dot float64
	for j := 0; j <= i; j++ {
		dot += float64(p[j] * d[j])
	}
	for j := 0; j <= i; j++ {
		d[j] = p[j] * (d[j] - float32(dot))
	}
	clear(d[i+1:])
}

// softmaxBackwardRows is softmaxBackwardRow on rows [i0,i1) of one head's
// T×T pattern p and gradient d, four rows at a time as softmaxCausalRows:
// bit for bit the row-by-row values.
func softmaxBackwardRows(p, d []float32, T, i0, i1 int) {
	i := i0
	for ; i+4 <= i1; i += 4 {
		var dots [4]float64
		p0, d0 := p[i*T:i*T+i+1], d[i*T:i*T+i+1]
		p1, d1 := p[(i+1)*T:(i+1)*T+len(p0)], d[(i+1)*T:(i+1)*T+len(p0)]
		p2, d2 := p[(i+2)*T:(i+2)*T+len(p0)], d[(i+2)*T:(i+2)*T+len(p0)]
		p3, d3 := p[(i+3)*T:(i+3)*T+len(p0)], d[(i+3)*T:(i+3)*T+len(p0)]
		d0 = d0[:len(p0)]
		var s0, s1, s2, s3 float64
		for j, v := range p0 {
			s0 += float64(v * d0[j])
			s1 += float64(p1[j] * d1[j])
			s2 += float64(p2[j] * d2[j])
			s3 += float64(p3[j] * d3[j])
		}
		dots = [4]float64{s0, s1, s2, s3}
		for k := 1; k < 4; k++ {
			r := i + k
			for j := len(p0); j <= r; j++ {
				dots[k] += float64(p[r*T+j] * d[r*T+j])
			}
		}
		for k := range 4 {
			r := i + k
			pr, dr := p[r*T:r*T+r+1], d[r*T:r*T+r+1]
			dr = dr[:len(pr)]
			dot := float32(dots[k])
			for j, v := range pr {
				dr[j] = v * (dr[j] - dot)
			}
			clear(d[r*T+r+1 : (r+1)*T])
		}
	}
	for ; i < i1; i++ {
		softmaxBackwardRow(p[i*T:(i+1)*T], d[i*T:(i+1)*T], i)
	}
}

// attentionBackward adds into dq [B,T,H,D] and dk, dv [B,T,K,D] the gradient
// of z = softmax(q·kᵀ/√D + mask) · v given dz (with ld > 0, dq, dk and dv
// are column blocks of a matrix whose rows are ld apart), firing the pattern and score
// gradients of block l. dq and dk are the gradients at the rotated q and k.
// The heads sharing a key/value head run in one worker, which alone adds
// into that head's dk and dv. As in attention, the heads' operands are
// copied (transposed where the product needs it) so that tensor.Gemm reads
// them in place, and dk, dv accumulate transposed from zero: dvᵀ = Σ dzᵀ ·
// pattern and dkᵀ = Σ qᵀ · ds/√D over the query blocks and the heads that
// share them, added into dk and dv at the end. Without a gradient hook
// each head's pattern gradient is computed for the keys its query blocks
// see only and turned into the score gradient at once; with one it is
// computed in full (masked entries have a gradient too, which the
// hook_pattern gradient reports) and the steps run in turn.
func (m *Model) attentionBackward(g gradRunner, ar *arena, l int, dq, dk, dv []float32, ld int, dz []float32, a *layerActs, B, T int) error {
	c := m.Config
	H, K, D := c.NHeads, c.NKVHeads, c.DHead
	HD, KD, G := H*D, K*D, H/K
	ldq, ldkv := HD, KD
	if ld > 0 {
		ldq, ldkv = ld, ld
	}
	scale := float32(1 / math.Sqrt(float64(D)))
	// Every entry is written: in full with a hook, else the keys each
	// query block sees, and softmaxBackwardRow zeroes the rest of each row.
	dpat := ar.getDirty(B * H * T * T)
	hooked := g.fn != nil
	ldt, ldd := headStride(T), headStride(D)
	// first: dpattern and dv (and, not hooked, ds); second: dq and dk from ds.
	heads := func(first, second bool) {
		parallelFor(B*K, 1, func(lo, hi int) {
			var wa arena
			defer wa.release()
			var vt, dzt, dvt, qt, kh, dkt []float32
			if first {
				vt, dzt, dvt = wa.getDirty(D*ldt), wa.getDirty(D*ldt), wa.getDirty(D*ldt)
			}
			if second {
				qt, kh, dkt = wa.getDirty(D*ldt), wa.getDirty(T*ldd), wa.getDirty(D*ldt)
			}
			for bk := lo; bk < hi; bk++ {
				b, kvh := bk/K, bk%K
				kvOff, dkvOff := b*T*KD+kvh*D, b*T*ldkv+kvh*D
				if first {
					transposeHead(vt, ldt, a.v[kvOff:], KD, T, D)
					clear(dvt)
				}
				if second {
					gatherHead(kh, ldd, a.kr[kvOff:], KD, T, D)
					clear(dkt)
				}
				for h := kvh * G; h < (kvh+1)*G; h++ {
					bh := b*H + h
					off := b*T*HD + h*D
					p, ds := a.pattern[bh*T*T:(bh+1)*T*T], dpat[bh*T*T:(bh+1)*T*T]
					if first {
						transposeHead(dzt, ldt, dz[off:], HD, T, D)
						for i0 := 0; i0 < T; i0 += attnBlock {
							i1 := min(i0+attnBlock, T)
							// dpattern = dz · vᵀ.
							n := i1
							if hooked {
								n = T
							}
							tensor.Gemm(false, false, i1-i0, n, D, 1, dz[off+i0*HD:], HD, vt, ldt, 0, ds[i0*T:], T)
							// dvᵀ[:, :i1] += dzᵀ[:, i0:i1] · pattern[i0:i1, :i1].
							tensor.Gemm(false, false, D, i1, i1-i0, 1, dzt[i0:], ldt, p[i0*T:], T, 1, dvt, ldt)
						}
						if !hooked {
							softmaxBackwardRows(p, ds, T, 0, T)
						}
					}
					if second {
						transposeHead(qt, ldt, a.qr[off:], HD, T, D)
						// dq += ds · k/√D; dkᵀ += qᵀ · ds/√D; ds is zero past the diagonal.
						for i0 := 0; i0 < T; i0 += attnBlock {
							i1 := min(i0+attnBlock, T)
							tensor.Gemm(false, false, i1-i0, D, i1, scale, ds[i0*T:], T, kh, ldd, 1, dq[b*T*ldq+h*D+i0*ldq:], ldq)
							tensor.Gemm(false, false, D, i1, i1-i0, scale, qt[i0:], ldt, ds[i0*T:], T, 1, dkt, ldt)
						}
					}
				}
				if first {
					untransposeAddHead(dv[dkvOff:], ldkv, dvt, ldt, T, D)
				}
				if second {
					untransposeAddHead(dk[dkvOff:], ldkv, dkt, ldt, T, D)
				}
			}
		})
	}
	if !hooked {
		heads(true, true)
		return nil
	}
	heads(true, false)
	if err := g.fire(ActName("pattern", l), dpat, B, H, T, T); err != nil {
		return err
	}
	ds := dpat // softmax backward in place
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			softmaxBackwardRows(a.pattern[bh*T*T:(bh+1)*T*T], ds[bh*T*T:(bh+1)*T*T], T, 0, T)
		}
	})
	if err := g.fire(ActName("attn_scores", l), ds, B, H, T, T); err != nil {
		return err
	}
	heads(false, true)
	return nil
}
