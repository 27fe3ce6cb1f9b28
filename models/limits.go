package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/internal/memory"
)

// Bounds Validate puts on a Config, so that no size and no product the
// parameter layout or a forward pass computes can overflow an int. They sit
// far above any published decoder (GPT-3 has 96 layers and d_model 12288;
// Llama 3 a vocabulary of 128256) and far below the point of overflow: a
// checkpoint whose config.json said n_head 4 and d_head 2^62 once wrapped
// n_head·d_head to 0, passed every shape check and failed inside the first
// forward pass. With every size and n_heads·d_head at most MaxDim, each
// tensor holds under 2^46 values and a layer under 2^50, so the layout of
// MaxLayers layers sums without overflow.
const (
	// MaxLayers bounds n_layers.
	MaxLayers = 1 << 12
	// MaxDim bounds every other size (n_heads, n_key_value_heads, d_model,
	// d_head, d_mlp, n_ctx, d_vocab) and the widths n_heads·d_head and
	// n_key_value_heads·d_head.
	MaxDim = 1 << 22
	// MaxParams bounds the number of parameters (float32 values) the
	// config implies: 2^36 is 256 GiB of weights.
	MaxParams = 1 << 36
)

// validateSizes checks the bounds above. It assumes every size is already
// known to be positive.
func (c Config) validateSizes() error {
	var errs []error
	if c.NLayers > MaxLayers {
		errs = append(errs, fmt.Errorf("n_layers %d exceeds the limit of %d", c.NLayers, MaxLayers))
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"n_heads", c.NHeads}, {"n_key_value_heads", c.NKVHeads}, {"d_model", c.DModel}, {"d_head", c.DHead},
		{"d_mlp", c.DMLP}, {"n_ctx", c.NCtx}, {"d_vocab", c.DVocab}} {
		if d.v > MaxDim {
			errs = append(errs, fmt.Errorf("%s %d exceeds the limit of %d", d.name, d.v, MaxDim))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Each factor is now below 2^22, so these products cannot overflow.
	if hd := c.NHeads * c.DHead; hd > MaxDim {
		return fmt.Errorf("n_heads·d_head = %d·%d = %d exceeds the limit of %d", c.NHeads, c.DHead, hd, MaxDim)
	}
	if kv := c.NKVHeads * c.DHead; kv > MaxDim {
		return fmt.Errorf("n_key_value_heads·d_head = %d·%d = %d exceeds the limit of %d", c.NKVHeads, c.DHead, kv, MaxDim)
	}
	if n := paramCount(c); n > MaxParams {
		return fmt.Errorf("the config implies %d parameters, more than the limit of %d (2^36)", n, MaxParams)
	}
	return nil
}

// ParamBytes is the memory, in bytes, of the model's float32 parameters,
// for comparing with the memory available before anything is allocated. It
// is +Inf for a config that does not validate.
func (c Config) ParamBytes() float64 {
	c = c.WithDefaults()
	if c.Validate() != nil {
		return math.Inf(1)
	}
	return 4 * float64(paramCount(c))
}

// ForwardBytes estimates the memory, in bytes, of one forward pass over
// batch sequences of seq tokens that keeps its activations for Backward (as
// training and gradient-based attribution do): per layer the residual
// stream and its copies, the two norms, Q, K, V, z, the attention scores and
// pattern [batch, heads, seq, seq] and the MLP's [batch, seq, d_mlp]
// buffers, then the logits and their softmax [batch, seq, d_vocab]. It is an
// estimate for refusing work that cannot fit, not an exact account (a
// pass of GPT-2's shape holds within a factor of two of it); it is computed
// in floating point, so it cannot overflow.
func (c Config) ForwardBytes(batch, seq int) float64 {
	c = c.WithDefaults()
	N := float64(batch) * float64(seq)
	C, V, M := float64(c.DModel), float64(c.DVocab), float64(c.DMLP)
	H, HD, KV := float64(c.NHeads), float64(c.NHeads)*float64(c.DHead), float64(c.NKVHeads)*float64(c.DHead)
	mlp := 2 * M
	if c.GatedMLP {
		mlp = 4 * M
	}
	perLayer := N*(8*C+3*HD+2*KV+mlp) + 2*float64(batch)*H*float64(seq)*float64(seq)
	return 4 * (float64(c.NLayers)*perLayer + N*(3*C+2*V))
}

// CheckForward returns an error when a forward pass of batch sequences of
// seq tokens is estimated (ForwardBytes) to need more memory than the
// machine has, so that a caller refuses such sizes before allocating.
func (c Config) CheckForward(batch, seq int) error {
	return memory.Check(c.ForwardBytes(batch, seq))
}

// TrainBytes estimates the memory of one training step at the given batch
// and sequence length: the parameters, their gradients, AdamW's two moments
// and a forward pass kept for Backward (ForwardBytes). It is +Inf for a
// config that does not validate.
func (c Config) TrainBytes(batch, seq int) float64 {
	return 4*c.ParamBytes() + c.ForwardBytes(batch, seq)
}

// NonFinite counts the parameters that are NaN or ±Inf and names the first
// tensor holding one ("" when every value is finite). A checkpoint with such
// weights loads (training refuses to write one, but a file from elsewhere
// may hold them) and every output it gives is NaN, so commands warn.
func (p *Params) NonFinite() (first string, n int) {
	for _, q := range p.list {
		for _, v := range p.slice(q.Name) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				if first == "" {
					first = q.Name
				}
				n++
			}
		}
	}
	return first, n
}
