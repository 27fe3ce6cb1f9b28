package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/tensor"
)

// BackwardOptions control one Backward call. The zero value differentiates
// the mean loss and reports no activation gradients.
type BackwardOptions struct {
	// DLogits, if set, is the gradient of the caller's metric with respect to
	// the logits [B,T,V] (a logit difference, say) and replaces the loss.
	DLogits *tensor.Tensor
	// GradHook, if set, receives the gradient at hook points, named
	// "<hook name>_grad" (blocks.0.hook_resid_pre_grad, ...), in reverse order.
	// The view is valid only during the call. Hook replacements made during
	// Forward are treated as constants added in place: the gradient flows
	// through a hook point as if the hook were the identity.
	GradHook func(name string, grad *tensor.Tensor) error
}

type gradRunner struct {
	fn func(name string, grad *tensor.Tensor) error
}

func (g gradRunner) fire(name string, data []float32, shape ...int) error {
	if g.fn == nil {
		return nil
	}
	if err := g.fn(name+"_grad", tensor.View(data, shape...)); err != nil {
		return fmt.Errorf("gradient hook at %s_grad: %w", name, err)
	}
	return nil
}

// Backward adds to grads (same layout as m.Params; zero it first for a fresh
// gradient) the gradient of the pass's mean loss, or of the metric whose
// logit gradient is opt.DLogits. grads may be nil when only the activation
// gradients of opt.GradHook are wanted.
func (m *Model) Backward(p *Pass, grads *Params, opt *BackwardOptions) error {
	if opt == nil {
		opt = &BackwardOptions{}
	}
	if p.noGrad {
		return errors.New("models: Backward needs a pass run without Options.NoGrad")
	}
	if grads == nil {
		grads = m.Params.ZerosLike()
	}
	if len(grads.Data) != len(m.Params.Data) {
		return fmt.Errorf("models: gradient buffer has %d values, model %d", len(grads.Data), len(m.Params.Data))
	}
	c := m.Config
	B, T := p.B, p.T
	C, H, D, M, V := c.DModel, c.NHeads, c.DHead, c.DMLP, c.DVocab
	HD, N := H*D, B*T
	g := gradRunner{fn: opt.GradHook}
	var ar arena
	defer ar.release()
	shortformer := c.Positional == PosShortformer

	// Loss: d(mean cross-entropy)/dlogits = (softmax − onehot)/count.
	dlogits := ar.get(N * V)
	switch {
	case opt.DLogits != nil:
		if !opt.DLogits.SameShape([]int{B, T, V}) {
			return fmt.Errorf("models: DLogits has shape %s, want [%d,%d,%d]", tensor.ShapeString(opt.DLogits.Shape), B, T, V)
		}
		copy(dlogits, opt.DLogits.Data)
	case p.Targets == nil || p.nLoss == 0:
		return errors.New("models: Backward needs a pass with targets, or BackwardOptions.DLogits")
	default:
		crossEntropyBackward(dlogits, p.Logits.Data, p.lse, p.Targets, N, V, 1/float32(p.nLoss))
	}

	// Unembed: logits = lnf · W_Uᵀ(stored [V,C]) + b_U.
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
	if err := m.layerNormBackward(g, "ln_final.", dx, grads.slice("ln_f.weight"), grads.slice("ln_f.bias"),
		dlnf, p.lnf, m.Params.slice("ln_f.weight"), B, T); err != nil {
		return err
	}

	var dposShort []float32 // shortformer: gradient reaching W_pos through Q and K
	if shortformer {
		dposShort = ar.get(N * C)
	}
	for l := c.NLayers - 1; l >= 0; l-- {
		a := &p.layers[l]
		w, dw := m.Params.layer(l), grads.layer(l)
		pre := fmt.Sprintf("blocks.%d.", l)
		if err := g.fire(pre+"hook_resid_post", dx, B, T, C); err != nil {
			return err
		}

		if !c.AttnOnly {
			// resid_post = resid_mid + mlp_out; mlp_out = gelu(ln2 · W_in + b_in) · W_out + b_out.
			if err := g.fire(pre+"hook_mlp_out", dx, B, T, C); err != nil {
				return err
			}
			dpost := ar.get(N * M)
			linearBackward(dpost, dw.fcProjW, C, dw.fcPrB, dx, a.mlpPost, w.fcProjW, N, M, C)
			if err := g.fire(pre+"mlp.hook_post", dpost, B, T, M); err != nil {
				return err
			}
			dpre := ar.get(N * M)
			geluTanhBackward(dpre, dpost, a.mlpPre)
			if err := g.fire(pre+"mlp.hook_pre", dpre, B, T, M); err != nil {
				return err
			}
			dln2 := ar.get(N * C)
			linearBackward(dln2, dw.fcW, M, dw.fcB, dpre, a.ln2.out, w.fcW, N, C, M)
			dmid := ar.get(N * C)
			copy(dmid, dx)
			if err := m.layerNormBackward(g, pre+"ln2.", dmid, dw.ln2w, dw.ln2b, dln2, a.ln2, w.ln2w, B, T); err != nil {
				return err
			}
			if err := g.fire(pre+"hook_resid_mid", dmid, B, T, C); err != nil {
				return err
			}
			dx = dmid
		}

		// resid_mid = resid_pre + attn_out; attn_out = z · W_O + b_O.
		if err := g.fire(pre+"hook_attn_out", dx, B, T, C); err != nil {
			return err
		}
		if p.result && g.fn != nil {
			// Every head's result enters attn_out with weight one.
			dres := ar.get(N * H * C)
			for i := 0; i < N; i++ {
				for h := 0; h < H; h++ {
					copy(dres[(i*H+h)*C:(i*H+h+1)*C], dx[i*C:(i+1)*C])
				}
			}
			if err := g.fire(pre+"attn.hook_result", dres, B, T, H, C); err != nil {
				return err
			}
		}
		dz := ar.get(N * HD)
		linearBackward(dz, dw.projW, C, dw.projB, dx, a.z, w.projW, N, HD, C)
		if err := g.fire(pre+"attn.hook_z", dz, B, T, H, D); err != nil {
			return err
		}
		dq, dk, dv := ar.get(N*HD), ar.get(N*HD), ar.get(N*HD)
		if err := m.attentionBackward(g, &ar, pre, dq, dk, dv, dz, a, B, T); err != nil {
			return err
		}
		dln1 := ar.get(N * C)
		for i, d := range [][]float32{dq, dk, dv} {
			name := pre + []string{"attn.hook_q", "attn.hook_k", "attn.hook_v"}[i]
			if err := g.fire(name, d, B, T, H, D); err != nil {
				return err
			}
			linearBackward(dln1, dw.attnW[i*HD:], 3*HD, dw.attnB[i*HD:(i+1)*HD], d, a.ln1.out, w.attnW[i*HD:], N, C, HD)
			if shortformer && i < 2 {
				tensor.Gemm(true, false, C, HD, N, 1, p.pos, C, d, HD, 1, dw.attnW[i*HD:], 3*HD)
				tensor.Gemm(false, true, N, C, HD, 1, d, HD, w.attnW[i*HD:], 3*HD, 1, dposShort, C)
			}
		}
		dpre := ar.get(N * C)
		copy(dpre, dx)
		if err := m.layerNormBackward(g, pre+"ln1.", dpre, dw.ln1w, dw.ln1b, dln1, a.ln1, w.ln1w, B, T); err != nil {
			return err
		}
		if err := g.fire(pre+"hook_resid_pre", dpre, B, T, C); err != nil {
			return err
		}
		dx = dpre
	}

	// Embeddings: resid_pre(0) = embed (+ pos unless shortformer).
	dpos := dx
	if shortformer {
		dpos = dposShort
	}
	if err := g.fire("hook_embed", dx, B, T, C); err != nil {
		return err
	}
	if err := g.fire("hook_pos_embed", dpos, B, T, C); err != nil {
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

// layerNormBackward adds into dx the gradient through one LayerNorm (or, with
// none configured, passes dout straight through), firing
// prefix+"hook_normalized_grad", the gradient at the LayerNorm's output.
func (m *Model) layerNormBackward(g gradRunner, prefix string, dx, dw, db, dout []float32, a lnActs, w []float32, B, T int) error {
	if !m.Config.HasLN() {
		for i := range dx {
			dx[i] += dout[i]
		}
		return nil
	}
	C, N := m.Config.DModel, B*T
	if err := g.fire(prefix+"hook_normalized", dout, B, T, C); err != nil {
		return err
	}
	layerNormBackward(dx, dw, db, dout, a.xhat, a.scale, w, N, C)
	return nil
}

// attentionBackward adds into dq, dk, dv [B,T,H,D] the gradient of
// z = softmax(q·kᵀ/√D + mask) · v given dz, firing the pattern and score
// gradients.
func (m *Model) attentionBackward(g gradRunner, ar *arena, pre string, dq, dk, dv, dz []float32, a *layerActs, B, T int) error {
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
	if err := g.fire(pre+"attn.hook_pattern", dpat, B, H, T, T); err != nil {
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
	if err := g.fire(pre+"attn.hook_attn_scores", ds, B, H, T, T); err != nil {
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
