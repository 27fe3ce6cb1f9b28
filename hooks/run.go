package hooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Fn reads or replaces one activation; it has the contract of
// models.HookFunc: change act in place or return a same-shaped replacement
// (nil keeps it). act is valid only during the call.
type Fn func(name string, act *tensor.Tensor) (*tensor.Tensor, error)

// Hook attaches Fn to every hook point its filter selects, for one Run.
type Hook struct {
	Filter Filter
	Fn     Fn
}

// At returns a hook on the points matching pattern (an exact name or a glob).
func At(pattern string, fn Fn) Hook { return Hook{Filter: MustFilter(pattern), Fn: fn} }

// Cache holds activations by hook name (and gradients by "<name>_grad").
type Cache struct {
	acts map[string]*tensor.Tensor
	pass *models.Pass // whose buffers acts views, if any
}

// Release hands the buffers behind the cache back for reuse by later passes,
// as models.Pass.Release does for a pass: a loop that caches every step keeps
// one step's activations instead of one plus the garbage of the last. The
// cache, and the pass Run returned with it, must not be used afterwards.
// Calling it is optional.
func (c *Cache) Release() {
	if c == nil {
		return
	}
	if c.pass != nil {
		c.pass.ReleaseRetained()
		c.pass = nil
	}
	c.acts = nil
}

// Get returns the cached activation, or nil.
func (c *Cache) Get(name string) *tensor.Tensor {
	if c == nil {
		return nil
	}
	return c.acts[name]
}

// Lookup returns the cached activation or an error naming what is missing.
func (c *Cache) Lookup(name string) (*tensor.Tensor, error) {
	if t := c.Get(name); t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("hooks: %q is not in the cache (cached: %s)", name, strings.Join(c.Names(), ", "))
}

// Names lists the cached names in sorted order.
func (c *Cache) Names() []string {
	if c == nil {
		return nil
	}
	names := make([]string, 0, len(c.acts))
	for n := range c.acts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len is the number of cached tensors.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	return len(c.acts)
}

// Bytes is the memory the cached tensors hold.
func (c *Cache) Bytes() int {
	n := 0
	for _, t := range c.acts {
		n += 4 * t.Len()
	}
	return n
}

// Map returns the cache's tensors by name (shared, not copied).
func (c *Cache) Map() map[string]*tensor.Tensor { return c.acts }

// keep stores t itself: forward activations are the pass's own buffers,
// never written again once their hook has run (Run retains the pass).
func (c *Cache) keep(name string, t *tensor.Tensor) {
	if c.acts == nil {
		c.acts = map[string]*tensor.Tensor{}
	}
	c.acts[name] = &tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: t.Data}
}

// copyOf stores a copy of t, for buffers that are recycled after the call
// (the gradients of Backward).
func (c *Cache) copyOf(name string, t *tensor.Tensor) {
	if c.acts == nil {
		c.acts = map[string]*tensor.Tensor{}
	}
	c.acts[name] = t.Clone()
}

// Spec says what one Run does besides the forward pass.
type Spec struct {
	// Targets [B,T] (negative = none) give the pass a loss.
	Targets []int
	// Hooks run in order at every point their filters select; each sees the
	// activation as left by the hooks before it.
	Hooks []Hook
	// Cache keeps the activations whose names it selects, after all hooks ran.
	Cache Filter
	// Grads keeps the gradients, named "<name>_grad", whose names it selects
	// (patterns may be given with or without the suffix). It costs a backward
	// pass of the loss, or of the metric given by DLogits.
	Grads Filter
	// DLogits, when Grads is set, returns the gradient of the metric to
	// differentiate with respect to the logits [B,T,V]; nil means the loss.
	DLogits func(p *models.Pass) (*tensor.Tensor, error)
	// AttnResult computes blocks.{l}.attn.hook_result.
	AttnResult bool
	// SplitInputs computes the split inputs blocks.{l}.hook_q_input,
	// hook_k_input, hook_v_input and hook_mlp_in (models.Options.SplitInputs).
	SplitInputs bool
}

// Run runs the model once on tokens [B,T] under spec and returns the pass and
// the cache (empty when nothing was asked for). Nothing stays attached.
func Run(m *models.Model, tokens []int, B, T int, spec Spec) (*models.Pass, *Cache, error) {
	cache := &Cache{acts: map[string]*tensor.Tensor{}}
	// Per-head results and split inputs cost H times hook_attn_out's memory:
	// compute them only when a pattern names them ("*" alone does not).
	filters := []Filter{spec.Cache, spec.Grads}
	for _, h := range spec.Hooks {
		filters = append(filters, h.Filter)
	}
	needAttnResult := spec.AttnResult || mentions(filters, "hook_result")
	needSplit := spec.SplitInputs || mentions(filters, "_input") || mentions(filters, "hook_mlp_in")
	// The cache keeps views of the pass's own buffers, never copies. Without
	// gradients to compute, the pass recycles each block's other buffers as
	// it goes (NoGrad) and keeps only those the cache selects, so that a
	// long run never holds more than it asked for.
	opt := &models.Options{AttnResult: needAttnResult, SplitInputs: needSplit, NoGrad: spec.Grads.Empty()}
	if opt.NoGrad {
		opt.Keep = spec.Cache.Match
	}
	if len(spec.Hooks) > 0 || !spec.Cache.Empty() {
		opt.Hook = func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
			for _, h := range spec.Hooks {
				if !h.Filter.Match(name) {
					continue
				}
				out, err := h.Fn(name, act)
				if err != nil {
					return nil, err
				}
				if out != nil && out != act {
					if !out.SameShape(act.Shape) {
						return nil, fmt.Errorf("replacement has shape %s, want %s",
							tensor.ShapeString(out.Shape), tensor.ShapeString(act.Shape))
					}
					copy(act.Data, out.Data)
				}
			}
			if spec.Cache.Match(name) {
				cache.keep(name, act)
			}
			return nil, nil
		}
	}
	pass, err := m.Forward(tokens, B, T, spec.Targets, opt)
	if err != nil {
		return nil, nil, err
	}
	if !spec.Cache.Empty() {
		pass.Retain() // the cache holds views of its buffers
		cache.pass = pass
	}
	if !spec.Grads.Empty() {
		bopt := &models.BackwardOptions{GradHook: func(name string, g *tensor.Tensor) error {
			if spec.Grads.Match(name) || spec.Grads.Match(strings.TrimSuffix(name, "_grad")) {
				cache.copyOf(name, g)
			}
			return nil
		}}
		if spec.DLogits != nil {
			if bopt.DLogits, err = spec.DLogits(pass); err != nil {
				return nil, nil, fmt.Errorf("hooks: metric gradient: %w", err)
			}
		}
		if err := m.Backward(pass, nil, bopt); err != nil {
			return nil, nil, err
		}
	}
	return pass, cache, nil
}

func mentions(fs []Filter, leaf string) bool {
	for _, f := range fs {
		for _, p := range f.patterns {
			if strings.Contains(p, leaf) {
				return true
			}
		}
	}
	return false
}

// RunWithCache runs the model and keeps the activations filter selects
// (TransformerLens's run_with_cache with names_filter).
func RunWithCache(m *models.Model, tokens []int, B, T int, filter Filter) (*models.Pass, *Cache, error) {
	return Run(m, tokens, B, T, Spec{Cache: filter})
}

// RunWithHooks runs the model with hooks attached for this call only
// (TransformerLens's run_with_hooks).
func RunWithHooks(m *models.Model, tokens []int, B, T int, targets []int, hs ...Hook) (*models.Pass, error) {
	p, _, err := Run(m, tokens, B, T, Spec{Targets: targets, Hooks: hs})
	return p, err
}
