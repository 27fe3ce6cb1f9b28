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
}

// WeightNames lists the TransformerLens weight names Weight accepts. Per-layer
// weights take a layer; the others ignore it.
func WeightNames() []string {
	return []string{"W_E", "W_pos", "W_U", "b_U", "ln_final.w", "ln_final.b",
		"W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O",
		"W_in", "b_in", "W_out", "b_out", "ln1.w", "ln1.b", "ln2.w", "ln2.b"}
}

func (m *Model) view(name string, l int) (weightView, error) {
	c := m.Config
	C, H, D, M, V, T := c.DModel, c.NHeads, c.DHead, c.DMLP, c.DVocab, c.NCtx
	HD := H * D
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
		v = weightView{[]int{V, C}, m.Params.slice("wte.weight"), id}
	case "W_pos":
		v = weightView{[]int{T, C}, m.Params.slice("wpe.weight"), id}
	case "W_U": // [C,V], stored [V,C]
		w, _ := m.Params.unembed(c)
		v = weightView{[]int{C, V}, w, func(i int) int { return (i%V)*C + i/V }}
	case "b_U":
		_, b := m.Params.unembed(c)
		v = weightView{[]int{V}, b, id}
	case "ln_final.w", "ln_final.b":
		v = weightView{[]int{C}, m.Params.slice("ln_f." + map[string]string{"w": "weight", "b": "bias"}[name[len(name)-1:]]), id}
	case "W_Q", "W_K", "W_V": // [H,C,D] from c_attn.weight [C,3HD]
		part := strings.Index("QKV", name[2:])
		v = weightView{[]int{H, C, D}, lp("attn.c_attn.weight"), func(i int) int {
			h, cc, d := i/(C*D), (i/D)%C, i%D
			return cc*3*HD + part*HD + h*D + d
		}}
	case "b_Q", "b_K", "b_V": // [H,D]
		part := strings.Index("QKV", name[2:])
		v = weightView{[]int{H, D}, lp("attn.c_attn.bias"), func(i int) int { return part*HD + i }}
	case "W_O": // [H,D,C] from c_proj.weight [HD,C]: the same order
		v = weightView{[]int{H, D, C}, lp("attn.c_proj.weight"), id}
	case "b_O":
		v = weightView{[]int{C}, lp("attn.c_proj.bias"), id}
	case "W_in":
		v = weightView{[]int{C, M}, lp("mlp.c_fc.weight"), id}
	case "b_in":
		v = weightView{[]int{M}, lp("mlp.c_fc.bias"), id}
	case "W_out":
		v = weightView{[]int{M, C}, lp("mlp.c_proj.weight"), id}
	case "b_out":
		v = weightView{[]int{C}, lp("mlp.c_proj.bias"), id}
	case "ln1.w", "ln1.b", "ln2.w", "ln2.b":
		v = weightView{[]int{C}, lp(fmt.Sprintf("ln_%c.%s", name[2], map[byte]string{'w': "weight", 'b': "bias"}[name[4]])), id}
	default:
		return weightView{}, fmt.Errorf("models: unknown weight %q (known: %s)", name, strings.Join(WeightNames(), ", "))
	}
	if err := need(v.store, "this model has none (attention-only, or no LayerNorm)"); err != nil {
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
	v, err := m.view(name, layer)
	if err != nil {
		return err
	}
	if !t.SameShape(v.shape) {
		return fmt.Errorf("models: %s has shape %s, got %s", name, tensor.ShapeString(v.shape), tensor.ShapeString(t.Shape))
	}
	for i, x := range t.Data {
		v.store[v.index(i)] = x
	}
	return nil
}
