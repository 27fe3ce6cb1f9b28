package models

import (
	"fmt"
	"slices"

	"github.com/mechinterp/mechinterp/tensor"
)

// Param names one parameter tensor inside a Params buffer.
type Param struct {
	Name   string
	Shape  []int
	Offset int // into Params.Data
}

// Params holds every parameter of a model in one flat slice, as llm.c does,
// so that optimizers and gradient buffers are plain loops over Data. Names and
// layouts are Hugging Face GPT-2's: Conv1D weights stored [in,out]
// (h.0.attn.c_attn.weight is [d_model, 3*n_heads*d_head], Q then K then V),
// wte.weight [vocab,d_model]. Extensions: lm_head.weight [vocab,d_model] when
// untied, and lm_head.bias [vocab], the unembedding bias.
type Params struct {
	Data  []float32
	list  []Param
	index map[string]int
}

// ParamLayout lists the parameter names and shapes a Config implies, in
// storage order. Every architecture keeps GPT-2's names: the fused
// attn.c_attn.weight is [d_model, (n_heads+2·n_key_value_heads)·d_head], Q
// then K then V; a gated MLP adds mlp.c_gate.weight [d_model,d_mlp]
// (W_gate, Llama's gate_proj; c_fc is W_in, its up_proj); RMSNorm has no
// bias; rotary positions have no wpe.weight; each bias the config drops is
// absent.
func ParamLayout(c Config) []Param {
	c = c.WithDefaults()
	C, V, T, HD, M := c.DModel, c.DVocab, c.NCtx, c.NHeads*c.DHead, c.DMLP
	QKV := HD + 2*c.NKVHeads*c.DHead
	var ps []Param
	add := func(name string, shape ...int) { ps = append(ps, Param{Name: name, Shape: shape}) }
	norm := func(name string) {
		if c.HasNorm() {
			add(name+".weight", C)
		}
		if c.HasLN() {
			add(name+".bias", C)
		}
	}
	add("wte.weight", V, C)
	if c.HasPosEmbed() {
		add("wpe.weight", T, C)
	}
	for l := 0; l < c.NLayers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		norm(p + "ln_1")
		add(p+"attn.c_attn.weight", C, QKV)
		if !c.NoQKVBias {
			add(p+"attn.c_attn.bias", QKV)
		}
		add(p+"attn.c_proj.weight", HD, C)
		if !c.NoAttnOutBias {
			add(p+"attn.c_proj.bias", C)
		}
		if !c.AttnOnly {
			norm(p + "ln_2")
			add(p+"mlp.c_fc.weight", C, M)
			if !c.NoMLPBias {
				add(p+"mlp.c_fc.bias", M)
			}
			if c.GatedMLP {
				add(p+"mlp.c_gate.weight", C, M)
				if !c.NoMLPBias {
					add(p+"mlp.c_gate.bias", M)
				}
			}
			add(p+"mlp.c_proj.weight", M, C)
			if !c.NoMLPBias {
				add(p+"mlp.c_proj.bias", C)
			}
		}
	}
	norm("ln_f")
	if c.Untied {
		add("lm_head.weight", V, C)
	}
	if !c.NoUnembedBias {
		add("lm_head.bias", V)
	}
	off := 0
	for i := range ps {
		ps[i].Offset = off
		off += tensor.Numel(ps[i].Shape)
	}
	return ps
}

// NewParams returns zeroed parameters laid out for c.
func NewParams(c Config) *Params {
	list := ParamLayout(c)
	n := 0
	index := make(map[string]int, len(list))
	for i, p := range list {
		index[p.Name] = i
		n += tensor.Numel(p.Shape)
	}
	return &Params{Data: make([]float32, n), list: list, index: index}
}

// ZerosLike returns zeroed parameters with the same layout, as a gradient or
// optimizer-moment buffer.
func (p *Params) ZerosLike() *Params {
	return &Params{Data: make([]float32, len(p.Data)), list: p.list, index: p.index}
}

// Clone returns a deep copy.
func (p *Params) Clone() *Params {
	q := p.ZerosLike()
	copy(q.Data, p.Data)
	return q
}

// List returns the parameters in storage order. The slice must not be changed.
func (p *Params) List() []Param { return p.list }

// Names returns the parameter names in storage order.
func (p *Params) Names() []string {
	names := make([]string, len(p.list))
	for i, q := range p.list {
		names[i] = q.Name
	}
	return names
}

// Has reports whether a parameter of that name exists.
func (p *Params) Has(name string) bool { _, ok := p.index[name]; return ok }

// Get returns a tensor that views (shares memory with) the named parameter,
// or nil when there is none.
func (p *Params) Get(name string) *tensor.Tensor {
	i, ok := p.index[name]
	if !ok {
		return nil
	}
	q := p.list[i]
	n := tensor.Numel(q.Shape)
	return tensor.View(p.Data[q.Offset:q.Offset+n:q.Offset+n], slices.Clone(q.Shape)...)
}

// slice returns the named parameter's storage; the name must exist.
func (p *Params) slice(name string) []float32 {
	i, ok := p.index[name]
	if !ok {
		return nil
	}
	q := p.list[i]
	n := tensor.Numel(q.Shape)
	return p.Data[q.Offset : q.Offset+n : q.Offset+n]
}
