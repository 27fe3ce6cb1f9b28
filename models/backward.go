package models

import (
	"errors"
	"fmt"

	"github.com/mechinterp/mechinterp/internal/parallel"
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
	// DFinal, if set, is the gradient of the caller's metric with respect to
	// the final LayerNorm's output [B,T,C] (Pass.Final): for a head other than
	// the unembedding, such as a preference model's reward head. It replaces
	// the loss and DLogits, and the unembedding gets no gradient.
	DFinal *tensor.Tensor
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
// logit gradient is opt.DLogits, or at the final LayerNorm's output
// opt.DFinal. grads may be nil when only the activation
// gradients of opt.GradHook are wanted. A panic inside it, on any worker
// goroutine, is returned as an error, as in Forward.
func (m *Model) Backward(p *Pass, grads *Params, opt *BackwardOptions) (err error) {
	defer parallel.Recover(&err, "models: backward pass")
	if opt == nil {
		opt = &BackwardOptions{}
	}
	if p.kv != nil {
		return errors.New("models: Backward needs a pass run without a key/value cache")
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
	g := gradRunner{fn: opt.GradHook}
	var ar arena
	defer ar.release()

	var dx []float32 // [B,T,C] at the last resid_post
	if opt.DFinal != nil {
		dx, err = m.finalBackward(g, &ar, p, grads, opt.DFinal)
	} else {
		var dlogits []float32 // [B,T,V]
		if dlogits, err = m.lossBackward(&ar, p, opt.DLogits); err == nil {
			dx, err = m.unembedBackward(g, &ar, p, grads, dlogits)
		}
	}
	if err != nil {
		return err
	}
	var dposShort []float32 // shortformer: gradient reaching W_pos through Q and K
	if m.Config.Positional == PosShortformer {
		dposShort = ar.get(p.B * p.T * m.Config.DModel)
	}
	for l := m.Config.NLayers - 1; l >= 0; l-- {
		if dx, err = m.blockBackward(g, &ar, p, grads, l, dx, dposShort); err != nil {
			return err
		}
	}
	return m.embedBackward(g, p, grads, dx, dposShort)
}

// finalBackward adds the final LayerNorm's gradients into grads given the
// gradient dfinal [B,T,C] at its output, and returns the gradient at the last
// resid_post [B,T,C].
func (m *Model) finalBackward(g gradRunner, ar *arena, p *Pass, grads *Params, dfinal *tensor.Tensor) ([]float32, error) {
	B, T, C := p.B, p.T, m.Config.DModel
	if !dfinal.SameShape([]int{B, T, C}) {
		return nil, fmt.Errorf("models: DFinal has shape %s, want [%d,%d,%d]", tensor.ShapeString(dfinal.Shape), B, T, C)
	}
	dx := ar.get(B * T * C)
	if err := m.layerNormBackward(g, -1, "ln_final", dx, grads.slice("ln_f.weight"), grads.slice("ln_f.bias"),
		dfinal.Data, p.lnf, m.Params.slice("ln_f.weight"), B, T); err != nil {
		return nil, err
	}
	return dx, nil
}

// lossBackward returns the gradient at the logits [B,T,V]: dlogits when the
// caller gives one, else that of the mean cross-entropy, (softmax − onehot)/count.
func (m *Model) lossBackward(ar *arena, p *Pass, dlogits *tensor.Tensor) ([]float32, error) {
	B, T, V := p.B, p.T, m.Config.DVocab
	N := B * T
	d := ar.getDirty(N * V) // every case below writes all of it
	switch {
	case dlogits != nil:
		if !dlogits.SameShape([]int{B, T, V}) {
			return nil, fmt.Errorf("models: DLogits has shape %s, want [%d,%d,%d]", tensor.ShapeString(dlogits.Shape), B, T, V)
		}
		copy(d, dlogits.Data)
	case p.Targets == nil || p.nLoss == 0:
		return nil, errors.New("models: Backward needs a pass with targets, or BackwardOptions.DLogits")
	default:
		crossEntropyBackward(d, p.Logits.Data, p.lse, p.Targets, N, V, 1/float32(p.nLoss))
	}
	return d, nil
}
