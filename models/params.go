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
// storage order.
func ParamLayout(c Config) []Param {
	c = c.WithDefaults()
	C, V, T, HD, M := c.DModel, c.DVocab, c.NCtx, c.NHeads*c.DHead, c.DMLP
	var ps []Param
	add := func(name string, shape ...int) { ps = append(ps, Param{Name: name, Shape: shape}) }
	add("wte.weight", V, C)
	add("wpe.weight", T, C)
	for l := 0; l < c.NLayers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		if c.HasLN() {
			add(p+"ln_1.weight", C)
			add(p+"ln_1.bias", C)
		}
		add(p+"attn.c_attn.weight", C, 3*HD)
		add(p+"attn.c_attn.bias", 3*HD)
		add(p+"attn.c_proj.weight", HD, C)
		add(p+"attn.c_proj.bias", C)
		if !c.AttnOnly {
			if c.HasLN() {
				add(p+"ln_2.weight", C)
				add(p+"ln_2.bias", C)
			}
			add(p+"mlp.c_fc.weight", C, M)
			add(p+"mlp.c_fc.bias", M)
			add(p+"mlp.c_proj.weight", M, C)
			add(p+"mlp.c_proj.bias", C)
		}
	}
	if c.HasLN() {
		add("ln_f.weight", C)
		add("ln_f.bias", C)
	}
	if c.Untied {
		add("lm_head.weight", V, C)
	}
	add("lm_head.bias", V)
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
