package models

import (
	"fmt"
	"strings"

	"github.com/mechinterp/mechinterp/tensor"
)

// weightView maps a TransformerLens-shaped weight onto its storage: element i
// of the TransformerLens tensor (row-major in shape) lives at store[index(i)].
type weightView struct {
	shape []int
	store []float32
	index func(i int) int
	// shared is set when several elements of the view read one stored
	// value (grouped-query W_K, W_V), which SetWeight cannot write.
	shared bool
	// zero is set for a bias the architecture drops: it reads as zeros and
	// accepts only zeros.
	zero bool
}

// droppedBias reports whether the architecture has no bias of that
// TransformerLens name although it has the layer the bias belongs to.
func (c Config) droppedBias(name string) bool {
	mlp := !c.AttnOnly && c.NoMLPBias
	switch name {
	case "b_Q", "b_K", "b_V":
		return c.NoQKVBias
	case "b_O":
		return c.NoAttnOutBias
	case "b_in", "b_out":
		return mlp
	case "b_gate":
		return mlp && c.GatedMLP
	case "b_U":
		return c.NoUnembedBias
	case "ln1.b", "ln_final.b":
		return c.Normalization == NormRMS
	case "ln2.b":
		return c.Normalization == NormRMS && !c.AttnOnly
	}
	return false
}

// WeightNames lists the TransformerLens weight names Weight accepts. Per-layer
// weights take a layer; the others ignore it.
func WeightNames() []string {
	return []string{"W_E", "W_pos", "W_U", "b_U", "ln_final.w", "ln_final.b",
		"W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O",
		"W_in", "b_in", "W_gate", "b_gate", "W_out", "b_out", "ln1.w", "ln1.b", "ln2.w", "ln2.b"}
}

func (m *Model) view(name string, l int) (weightView, error) {
	c := m.Config
	C, H, D, M, V, T := c.DModel, c.NHeads, c.DHead, c.DMLP, c.DVocab, c.NCtx
	G := H / c.NKVHeads // query heads per key/value head
	QKV := H*D + 2*c.NKVHeads*D
	id := func(i int) int { return i }
	global := map[string]bool{"W_E": true, "W_pos": true, "W_U": true, "b_U": true, "ln_final.w": true, "ln_final.b": true}
	if !global[name] && (l < 0 || l >= c.NLayers) {
		return weightView{}, fmt.Errorf("models: layer %d out of range [0,%d) for %s", l, c.NLayers, name)
	}
	lp := func(s string) []float32 { return m.Params.slice(fmt.Sprintf("h.%d.%s", l, s)) }
	need := func(s []float32, why string) error {
		if s == nil {
			return fmt.Errorf("models: %s: %s", name, why)
		}
		return nil
	}
	var v weightView
	switch name {
	case "W_E":
		v = weightView{shape: []int{V, C}, store: m.Params.slice("wte.weight"), index: id}
	case "W_pos":
		v = weightView{shape: []int{T, C}, store: m.Params.slice("wpe.weight"), index: id}
	case "W_U": // [C,V], stored [V,C]
		w, _ := m.Params.unembed(c)
		v = weightView{shape: []int{C, V}, store: w, index: func(i int) int { return (i%V)*C + i/V }}
	case "b_U":
		_, b := m.Params.unembed(c)
		v = weightView{shape: []int{V}, store: b, index: id}
	case "ln_final.w", "ln_final.b":
		v = weightView{shape: []int{C}, store: m.Params.slice("ln_f." + map[string]string{"w": "weight", "b": "bias"}[name[len(name)-1:]]), index: id}
	case "W_Q", "W_K", "W_V": // [H,C,D] from c_attn.weight [C,HD+2KD]
		off, g := c.qkvSplit(strings.Index("QKV", name[2:]))
		if name == "W_Q" {
			g = 1
		} else {
			g = G // query head h reads key/value head h/G
		}
		v = weightView{shape: []int{H, C, D}, store: lp("attn.c_attn.weight"), index: func(i int) int {
			h, cc, d := i/(C*D), (i/D)%C, i%D
			return cc*QKV + off + (h/g)*D + d
		}, shared: g > 1}
	case "b_Q", "b_K", "b_V": // [H,D]
		off, g := c.qkvSplit(strings.Index("QKV", name[2:]))
		if name == "b_Q" {
			g = 1
		} else {
			g = G
		}
		v = weightView{shape: []int{H, D}, store: lp("attn.c_attn.bias"), index: func(i int) int { return off + (i/(D*g))*D + i%D }, shared: g > 1}
	case "W_O": // [H,D,C] from c_proj.weight [HD,C]: the same order
		v = weightView{shape: []int{H, D, C}, store: lp("attn.c_proj.weight"), index: id}
	case "b_O":
		v = weightView{shape: []int{C}, store: lp("attn.c_proj.bias"), index: id}
	case "W_in":
		v = weightView{shape: []int{C, M}, store: lp("mlp.c_fc.weight"), index: id}
	case "b_in":
		v = weightView{shape: []int{M}, store: lp("mlp.c_fc.bias"), index: id}
	case "W_gate":
		v = weightView{shape: []int{C, M}, store: lp("mlp.c_gate.weight"), index: id}
	case "b_gate":
		v = weightView{shape: []int{M}, store: lp("mlp.c_gate.bias"), index: id}
	case "W_out":
		v = weightView{shape: []int{M, C}, store: lp("mlp.c_proj.weight"), index: id}
	case "b_out":
		v = weightView{shape: []int{C}, store: lp("mlp.c_proj.bias"), index: id}
	case "ln1.w", "ln1.b", "ln2.w", "ln2.b":
		v = weightView{shape: []int{C}, store: lp(fmt.Sprintf("ln_%c.%s", name[2], map[byte]string{'w': "weight", 'b': "bias"}[name[4]])), index: id}
	default:
		return weightView{}, fmt.Errorf("models: unknown weight %q (known: %s)", name, strings.Join(WeightNames(), ", "))
	}
	if v.store == nil && c.droppedBias(name) {
		// A bias the architecture drops (Llama's, RMSNorm's) reads as
		// zeros, as TransformerLens's zero-initialized b_Q and friends.
		v.store, v.index = make([]float32, tensor.Numel(v.shape)), id
		v.zero = true
	}
	if err := need(v.store, "this model has none (attention-only, no LayerNorm, no positional embedding or no gated MLP)"); err != nil {
		return weightView{}, err
	}
	return v, nil
}

// Weight returns a copy of a weight under its TransformerLens name and shape,
// whatever the layout in memory: W_E [vocab,d_model], W_pos [n_ctx,d_model],
// W_Q/W_K/W_V [head,d_model,d_head], b_Q/b_K/b_V [head,d_head],
// W_O [head,d_head,d_model], b_O [d_model], W_in [d_model,d_mlp], b_in,
// W_out [d_mlp,d_model], b_out, W_U [d_model,vocab], b_U [vocab], and the
// LayerNorm gains and biases ln1.w, ln1.b, ln2.w, ln2.b, ln_final.w,
// ln_final.b. layer is ignored for the global weights.
func (m *Model) Weight(name string, layer int) (*tensor.Tensor, error) {
	v, err := m.view(name, layer)
	if err != nil {
		return nil, err
	}
	out := tensor.New(v.shape...)
	for i := range out.Data {
		out.Data[i] = v.store[v.index(i)]
	}
	return out, nil
}

// MustWeight is Weight for names and layers known to exist; it panics otherwise.
func (m *Model) MustWeight(name string, layer int) *tensor.Tensor {
	t, err := m.Weight(name, layer)
	if err != nil {
		panic(err)
	}
	return t
}

// SetWeight writes a weight given under its TransformerLens name and shape
// (see Weight) into the model's parameters.
func (m *Model) SetWeight(name string, layer int, t *tensor.Tensor) error {
	c := m.Config
	v, err := m.view(name, layer)
	if err != nil {
		return err
	}
	if !t.SameShape(v.shape) {
		return fmt.Errorf("models: %s has shape %s, got %s", name, tensor.ShapeString(v.shape), tensor.ShapeString(t.Shape))
	}
	if v.shared {
		return fmt.Errorf("models: %s of a grouped-query model repeats each key/value head %d times; set the weights through Params", name, c.NHeads/c.NKVHeads)
	}
	if v.zero {
		for _, x := range t.Data {
			if x != 0 {
				return fmt.Errorf("models: this model has no %s (the architecture drops it), so it can only be zero", name)
			}
		}
		return nil
	}
	for i, x := range t.Data {
		v.store[v.index(i)] = x
	}
	return nil
}
