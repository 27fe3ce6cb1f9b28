package models

import (
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// The model's layers as llm.c's train_gpt2.c writes them: each layer's
// forward beside its backward, on plain slices, firing the hook points of
// that layer. Forward and Backward only chain them. Shapes are in the
// comments; N stands for B·T rows.

// embedForward fills hook_embed [B,T,C] = W_E[token] and hook_pos_embed
// [B,T,C] = W_pos[t], and returns resid_pre of block 0: their sum, or the
// token embedding alone for shortformer positions, which enter Q and K only.
func (m *Model) embedForward(r runner, p *Pass) ([]float32, error) {
	c := m.Config
	B, T, C := p.B, p.T, c.DModel
	N := B * T
	wte, wpe := m.Params.slice("wte.weight"), m.Params.slice("wpe.weight")
	ar := &p.mem
	p.embed, p.pos = ar.get(N*C), ar.get(N*C)
	for i, tok := range p.Tokens {
		copy(p.embed[i*C:(i+1)*C], wte[tok*C:(tok+1)*C])
		t := i % T
		copy(p.pos[i*C:(i+1)*C], wpe[t*C:(t+1)*C])
	}
	if err := r.fire(ActName("embed", 0), p.embed, B, T, C); err != nil {
		return nil, err
	}
	if err := r.fire(ActName("pos_embed", 0), p.pos, B, T, C); err != nil {
		return nil, err
	}
	x := ar.get(N * C)
	copy(x, p.embed)
	if c.Positional != PosShortformer {
		for i := range x {
			x[i] += p.pos[i]
		}
	}
	return x, nil
}

// embedBackward fires the embedding gradients and adds them into W_E and
// W_pos: dx [B,T,C] is the gradient at resid_pre of block 0, dposShort
// (shortformer only) the gradient that reached the positions through Q and K.
func (m *Model) embedBackward(g gradRunner, p *Pass, grads *Params, dx, dposShort []float32) error {
	B, T, C := p.B, p.T, m.Config.DModel
	dpos := dx
	if m.Config.Positional == PosShortformer {
		dpos = dposShort
	}
	if err := g.fire(ActName("embed", 0), dx, B, T, C); err != nil {
		return err
	}
	if err := g.fire(ActName("pos_embed", 0), dpos, B, T, C); err != nil {
		return err
	}
	dwte, dwpe := grads.slice("wte.weight"), grads.slice("wpe.weight")
	for i, tok := range p.Tokens {
		t := i % T
		e, q := dwte[tok*C:(tok+1)*C], dwpe[t*C:(t+1)*C]
		for j := 0; j < C; j++ {
			e[j] += dx[i*C+j]
			q[j] += dpos[i*C+j]
		}
	}
	return nil
}

// blockForward runs block l on its resid_pre x [B,T,C] and returns its
// resid_post [B,T,C], allocated from the pass's arena so that it outlives
// the block; every other activation of the block comes from la.
func (m *Model) blockForward(r runner, la *arena, p *Pass, l int, x []float32) ([]float32, error) {
	a := &p.layers[l]
	w := m.Params.layer(l)
	a.residPre = x
	if err := r.fire(ActName("resid_pre", l), a.residPre, p.B, p.T, m.Config.DModel); err != nil {
		return nil, err
	}
	if err := m.attnForward(r, la, p, l, a, w); err != nil {
		return nil, err
	}
	if m.Config.AttnOnly {
		a.residPost = add(&p.mem, a.residPre, a.attnOut)
	} else {
		a.residMid = add(la, a.residPre, a.attnOut)
		if err := r.fire(ActName("resid_mid", l), a.residMid, p.B, p.T, m.Config.DModel); err != nil {
			return nil, err
		}
		if err := m.mlpForward(r, la, p.B, p.T, l, p.split, a, w); err != nil {
			return nil, err
		}
		a.residPost = add(&p.mem, a.residMid, a.mlpOut)
	}
	if err := r.fire(ActName("resid_post", l), a.residPost, p.B, p.T, m.Config.DModel); err != nil {
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
	if !m.Config.AttnOnly {
		var err error
		if dx, err = m.mlpBackward(g, ar, B, T, l, p.split, a, w, dw, dx); err != nil {
			return nil, err
		}
		if err := g.fire(ActName("resid_mid", l), dx, B, T, C); err != nil {
			return nil, err
		}
	}
	dpre, err := m.attnBackward(g, ar, p, l, a, w, dw, dx, dposShort)
	if err != nil {
		return nil, err
	}
	if err := g.fire(ActName("resid_pre", l), dpre, B, T, C); err != nil {
		return nil, err
	}
	return dpre, nil
}

// attnForward is the attention half of block l: ln1, then Q, K, V [B,T,H,D]
// from the fused [C,3HD] weight, the attention pattern and z, and the output
// projection into hook_attn_out [B,T,C], per head through hook_result
// [B,T,H,C] when the pass asks for it, so that a replaced head output changes
// the sum.
func (m *Model) attnForward(r runner, la *arena, p *Pass, l int, a *layerActs, w layer) error {
	c := m.Config
	B, T := p.B, p.T
	C, H, D := c.DModel, c.NHeads, c.DHead
	HD, N := H*D, B*T
	var err error
	a.q, a.k, a.v = la.get(N*HD), la.get(N*HD), la.get(N*HD)
	if p.split {
		if err := m.splitQKVForward(r, la, p, l, a, w); err != nil {
			return err
		}
	} else if a.ln1, err = m.layerNorm(r, la, l, "ln1", a.residPre, w.ln1w, w.ln1b, B, T); err != nil {
		return err
	}
	// Shortformer adds the positional embedding to the inputs of Q and K only.
	for i, dst := range [][]float32{a.q, a.k, a.v} {
		if !p.split {
			linear(dst, a.ln1.out, w.attnW[i*HD:], 3*HD, w.attnB[i*HD:(i+1)*HD], N, C, HD)
		}
		if c.Positional == PosShortformer && i < 2 {
			tensor.Gemm(false, false, N, HD, C, 1, p.pos, C, w.attnW[i*HD:], 3*HD, 1, dst, HD)
		}
	}
	for i, s := range [][]float32{a.q, a.k, a.v} {
		if err := r.fire(ActName(qkvNames[i], l), s, B, T, H, D); err != nil {
			return err
		}
	}
	if err := m.attention(r, la, l, a, B, T); err != nil {
		return err
	}

	a.attnOut = la.get(N * C)
	if !p.result {
		linear(a.attnOut, a.z, w.projW, C, w.projB, N, HD, C)
	} else {
		a.result = la.get(N * H * C)
		for h := 0; h < H; h++ {
			// result[:, :, h, :] = z[:, :, h, :] · W_O[h]
			tensor.Gemm(false, false, N, C, D, 1, a.z[h*D:], HD, w.projW[h*D*C:], C, 0, a.result[h*C:], H*C)
		}
		if err := r.fire(ActName("result", l), a.result, B, T, H, C); err != nil {
			return err
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
	}
	return r.fire(ActName("attn_out", l), a.attnOut, B, T, C)
}

var qkvNames = [3]string{"q", "k", "v"}

// attnBackward takes dx [B,T,C], the gradient at resid_mid (resid_post in
// attention-only blocks), which reaches attn_out unchanged, and returns the
// gradient at resid_pre: dx plus what flows back through attention and ln1.
func (m *Model) attnBackward(g gradRunner, ar *arena, p *Pass, l int, a *layerActs, w, dw layer, dx, dposShort []float32) ([]float32, error) {
	c := m.Config
	B, T := p.B, p.T
	C, H, D := c.DModel, c.NHeads, c.DHead
	HD, N := H*D, B*T
	if err := g.fire(ActName("attn_out", l), dx, B, T, C); err != nil {
		return nil, err
	}
	if p.result && g.fn != nil {
		// Every head's result enters attn_out with weight one.
		dres := ar.get(N * H * C)
		for i := 0; i < N; i++ {
			for h := 0; h < H; h++ {
				copy(dres[(i*H+h)*C:(i*H+h+1)*C], dx[i*C:(i+1)*C])
			}
		}
		if err := g.fire(ActName("result", l), dres, B, T, H, C); err != nil {
			return nil, err
		}
	}
	// attn_out = z · W_O + b_O.
	dz := ar.get(N * HD)
	linearBackward(dz, dw.projW, C, dw.projB, dx, a.z, w.projW, N, HD, C)
	if err := g.fire(ActName("z", l), dz, B, T, H, D); err != nil {
		return nil, err
	}
	dq, dk, dv := ar.get(N*HD), ar.get(N*HD), ar.get(N*HD)
	if err := m.attentionBackward(g, ar, l, dq, dk, dv, dz, a, B, T); err != nil {
		return nil, err
	}
	dln1 := ar.get(N * C)
	for i, d := range [][]float32{dq, dk, dv} {
		if err := g.fire(ActName(qkvNames[i], l), d, B, T, H, D); err != nil {
			return nil, err
		}
		if !p.split {
			linearBackward(dln1, dw.attnW[i*HD:], 3*HD, dw.attnB[i*HD:(i+1)*HD], d, a.ln1.out, w.attnW[i*HD:], N, C, HD)
		}
		if c.Positional == PosShortformer && i < 2 {
			tensor.Gemm(true, false, C, HD, N, 1, p.pos, C, d, HD, 1, dw.attnW[i*HD:], 3*HD)
			tensor.Gemm(false, true, N, C, HD, 1, d, HD, w.attnW[i*HD:], 3*HD, 1, dposShort, C)
		}
	}
	dpre := ar.get(N * C)
	copy(dpre, dx)
	if p.split {
		return dpre, m.splitQKVBackward(g, ar, p, l, a, w, dw, dq, dk, dv, dpre)
	}
	if err := m.layerNormBackward(g, l, "ln1", dpre, dw.ln1w, dw.ln1b, dln1, a.ln1, w.ln1w, B, T); err != nil {
		return nil, err
	}
	return dpre, nil
}

var qkvInputNames = [3]string{"q_input", "k_input", "v_input"}

// splitQKVForward fills a.q, a.k, a.v [B,T,H,D] (bias included, shortformer
// positions not) from per-head inputs (Options.SplitInputs): for each of q,
// k, v, hook_X_input [B,T,H,C] starts as resid_pre copied to every head, ln1
// runs on each of its B·T·H rows, and head h's slice of W_X reads row h.
func (m *Model) splitQKVForward(r runner, la *arena, p *Pass, l int, a *layerActs, w layer) error {
	c := m.Config
	B, T := p.B, p.T
	C, H, D := c.DModel, c.NHeads, c.DHead
	HD, N := H*D, B*T
	for i, dst := range [][]float32{a.q, a.k, a.v} {
		in := la.get(N * H * C)
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
			tensor.Gemm(false, false, N, D, C, 1, ln.out[h*C:], H*C, w.attnW[i*HD+h*D:], 3*HD, 0, dst[h*D:], HD)
		}
		b := w.attnB[i*HD : (i+1)*HD]
		for n := 0; n < N; n++ {
			row := dst[n*HD : (n+1)*HD]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
	return nil
}

// splitQKVBackward is splitQKVForward's backward: given dq, dk, dv
// [B,T,H,D] it adds the weight, bias and ln1 gradients, fires the gradients
// at the three split inputs [B,T,H,C], and adds their sum over heads into
// dpre [B,T,C].
func (m *Model) splitQKVBackward(g gradRunner, ar *arena, p *Pass, l int, a *layerActs, w, dw layer, dq, dk, dv, dpre []float32) error {
	c := m.Config
	B, T := p.B, p.T
	C, H, D := c.DModel, c.NHeads, c.DHead
	HD, N := H*D, B*T
	dln, din := ar.get(N*H*C), ar.get(N*H*C)
	for i, d := range [][]float32{dq, dk, dv} {
		ln := a.qkvLN[i]
		for h := 0; h < H; h++ {
			tensor.Gemm(true, false, C, D, N, 1, ln.out[h*C:], H*C, d[h*D:], HD, 1, dw.attnW[i*HD+h*D:], 3*HD)
			tensor.Gemm(false, true, N, C, D, 1, d[h*D:], HD, w.attnW[i*HD+h*D:], 3*HD, 0, dln[h*C:], H*C)
		}
		db := dw.attnB[i*HD : (i+1)*HD]
		for n := 0; n < N; n++ {
			for j, x := range d[n*HD : (n+1)*HD] {
				db[j] += x
			}
		}
		clear(din)
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

// mlpForward is the MLP half of block l: hook_mlp_out [B,T,C] =
// gelu(ln2(resid_mid) · W_in + b_in) · W_out + b_out, through hook_pre and
// hook_post [B,T,M].
func (m *Model) mlpForward(r runner, la *arena, B, T, l int, split bool, a *layerActs, w layer) error {
	C, M, N := m.Config.DModel, m.Config.DMLP, B*T
	var err error
	a.mlpIn = a.residMid
	if split {
		a.mlpIn = la.get(N * C)
		copy(a.mlpIn, a.residMid)
		if err := r.fire(ActName("mlp_in", l), a.mlpIn, B, T, C); err != nil {
			return err
		}
	}
	if a.ln2, err = m.layerNorm(r, la, l, "ln2", a.mlpIn, w.ln2w, w.ln2b, B, T); err != nil {
		return err
	}
	a.mlpPre, a.mlpPost = la.get(N*M), la.get(N*M)
	linear(a.mlpPre, a.ln2.out, w.fcW, M, w.fcB, N, C, M)
	if err := r.fire(ActName("pre", l), a.mlpPre, B, T, M); err != nil {
		return err
	}
	geluTanh(a.mlpPost, a.mlpPre)
	if err := r.fire(ActName("post", l), a.mlpPost, B, T, M); err != nil {
		return err
	}
	a.mlpOut = la.get(N * C)
	linear(a.mlpOut, a.mlpPost, w.fcProjW, C, w.fcPrB, N, M, C)
	return r.fire(ActName("mlp_out", l), a.mlpOut, B, T, C)
}

// mlpBackward takes dx [B,T,C], the gradient at resid_post, which reaches
// mlp_out unchanged, and returns the gradient at resid_mid: dx plus what
// flows back through the MLP and ln2.
func (m *Model) mlpBackward(g gradRunner, ar *arena, B, T, l int, split bool, a *layerActs, w, dw layer, dx []float32) ([]float32, error) {
	C, M, N := m.Config.DModel, m.Config.DMLP, B*T
	if err := g.fire(ActName("mlp_out", l), dx, B, T, C); err != nil {
		return nil, err
	}
	dpost := ar.get(N * M)
	linearBackward(dpost, dw.fcProjW, C, dw.fcPrB, dx, a.mlpPost, w.fcProjW, N, M, C)
	if err := g.fire(ActName("post", l), dpost, B, T, M); err != nil {
		return nil, err
	}
	dpre := ar.get(N * M)
	geluTanhBackward(dpre, dpost, a.mlpPre)
	if err := g.fire(ActName("pre", l), dpre, B, T, M); err != nil {
		return nil, err
	}
	dln2 := ar.get(N * C)
	linearBackward(dln2, dw.fcW, M, dw.fcB, dpre, a.ln2.out, w.fcW, N, C, M)
	dmid := ar.get(N * C)
	if !split {
		copy(dmid, dx)
	}
	if err := m.layerNormBackward(g, l, "ln2", dmid, dw.ln2w, dw.ln2b, dln2, a.ln2, w.ln2w, B, T); err != nil {
		return nil, err
	}
	if split {
		// dmid holds the gradient at hook_mlp_in; resid_mid adds the skip path.
		if err := g.fire(ActName("mlp_in", l), dmid, B, T, C); err != nil {
			return nil, err
		}
		for i, x := range dx {
			dmid[i] += x
		}
	}
	return dmid, nil
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
	logits := ar.get(N * V)
	tensor.Gemm(false, true, N, V, C, 1, p.lnf.out, C, wu, C, 0, logits, V)
	for i := 0; i < N; i++ {
		row := logits[i*V : (i+1)*V]
		for j := range row {
			row[j] += bu[j]
		}
	}
	p.Logits = tensor.View(logits, B, T, V)
	return nil
}

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
	for i := 0; i < N; i++ {
		row := dlogits[i*V : (i+1)*V]
		for j := range row {
			dbu[j] += row[j]
		}
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

func add(ar *arena, a, b []float32) []float32 {
	out := ar.get(len(a))
	for i := range out {
		out[i] = a[i] + b[i]
	}
	return out
}

// layerNorm runs a pre-LayerNorm (ln1 or ln2 of block l, or ln_final) with
// its two TransformerLens hook points: hook_scale [B,T,1], √(var+ε), and
// hook_normalized [B,T,C], the output after gain and bias (TransformerLens's
// LayerNorm). Without LayerNorm it is the identity and fires nothing.
func (m *Model) layerNorm(r runner, ar *arena, l int, ln string, x, w, b []float32, B, T int) (lnActs, error) {
	if !m.Config.HasLN() {
		return lnActs{out: x}, nil
	}
	C, N := m.Config.DModel, B*T
	a := lnActs{xhat: ar.get(N * C), scale: ar.get(N), out: ar.get(N * C)}
	layerNormStats(a.xhat, a.scale, x, N, C, m.Config.LNEps)
	if err := r.fire(ActName(ln+".scale", l), a.scale, B, T, 1); err != nil {
		return a, err
	}
	layerNormNormalize(a.xhat, a.scale, N, C)
	layerNormAffine(a.out, a.xhat, w, b, N, C)
	if err := r.fire(ActName(ln+".normalized", l), a.out, B, T, C); err != nil {
		return a, err
	}
	return a, nil
}

// layerNormBackward adds into dx the gradient through one LayerNorm (or, with
// none configured, passes dout straight through), firing the gradient at its
// hook_normalized, the LayerNorm's output.
func (m *Model) layerNormBackward(g gradRunner, l int, ln string, dx, dw, db, dout []float32, a lnActs, w []float32, B, T int) error {
	if !m.Config.HasLN() {
		for i := range dx {
			dx[i] += dout[i]
		}
		return nil
	}
	C, N := m.Config.DModel, B*T
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
// (Vaswani et al. 2017 with a causal mask): scores = q·kᵀ/√D per (batch, head).
func (m *Model) attention(r runner, ar *arena, l int, a *layerActs, B, T int) error {
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
	if err := r.fire(ActName("attn_scores", l), a.scores, B, H, T, T); err != nil {
		return err
	}
	parallelFor(B*H*T, 64, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			i := row % T
			softmaxCausalRow(a.pattern[row*T:(row+1)*T], a.scores[row*T:(row+1)*T], i)
		}
	})
	if err := r.fire(ActName("pattern", l), a.pattern, B, H, T, T); err != nil {
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
	return r.fire(ActName("z", l), a.z, B, T, H, D)
}

// attentionBackward adds into dq, dk, dv [B,T,H,D] the gradient of
// z = softmax(q·kᵀ/√D + mask) · v given dz, firing the pattern and score
// gradients of block l.
func (m *Model) attentionBackward(g gradRunner, ar *arena, l int, dq, dk, dv, dz []float32, a *layerActs, B, T int) error {
	c := m.Config
	H, D := c.NHeads, c.DHead
	HD := H * D
	scale := float32(1 / math.Sqrt(float64(D)))
	dpat := ar.get(B * H * T * T)
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			off := b*T*HD + h*D
			// dpattern = dz · vᵀ, in full: masked entries have a gradient too,
			// which the hook_pattern gradient reports.
			tensor.Gemm(false, true, T, T, D, 1, dz[off:], HD, a.v[off:], HD, 0, dpat[bh*T*T:], T)
			// dv += patternᵀ · dz, query block by block (see attnBlock).
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				tensor.Gemm(true, false, i1, D, i1-i0, 1, a.pattern[bh*T*T+i0*T:], T, dz[off+i0*HD:], HD, 1, dv[off:], HD)
			}
		}
	})
	if err := g.fire(ActName("pattern", l), dpat, B, H, T, T); err != nil {
		return err
	}
	// Softmax backward in place: ds_ij = p_ij (dp_ij − Σ_k p_ik dp_ik).
	ds := dpat
	parallelFor(B*H*T, 64, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			i := row % T
			p, d := a.pattern[row*T:(row+1)*T], ds[row*T:(row+1)*T]
			var dot float64
			for j := 0; j <= i; j++ {
				dot += float64(p[j] * d[j])
			}
			for j := 0; j <= i; j++ {
				d[j] = p[j] * (d[j] - float32(dot))
			}
			for j := i + 1; j < T; j++ {
				d[j] = 0
			}
		}
	})
	if err := g.fire(ActName("attn_scores", l), ds, B, H, T, T); err != nil {
		return err
	}
	parallelFor(B*H, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			off := b*T*HD + h*D
			// dq += ds · k/√D; dk += dsᵀ · q/√D; ds is zero past the diagonal.
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(i0+attnBlock, T)
				d := ds[bh*T*T+i0*T:]
				tensor.Gemm(false, false, i1-i0, D, i1, scale, d, T, a.k[off:], HD, 1, dq[off+i0*HD:], HD)
				tensor.Gemm(true, false, i1, D, i1-i0, scale, d, T, a.q[off+i0*HD:], HD, 1, dk[off:], HD)
			}
		}
	})
	return nil
}
