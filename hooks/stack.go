package hooks

import (
	"fmt"
	"strconv"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// Stack holds residual-stream components side by side, as TransformerLens's
// ActivationCache.decompose_resid and stack_head_results return them: each
// component is what one part of the model wrote into the residual stream, so
// the components sum to the stream itself. Direct logit attribution projects
// each one onto a logit direction.
type Stack struct {
	// Labels names each component: "embed", "pos_embed", "0_attn_out",
	// "0_mlp_out" ... or a head ("L0H1").
	Labels []string
	// Pos lists the positions kept, in order.
	Pos []int
	// Data is [n, B, len(Pos), C]: component, sequence, position, d_model.
	Data *tensor.Tensor
}

// Component returns the i-th component's values [B, len(Pos), C], a view.
func (s *Stack) Component(i int) []float32 {
	n := len(s.Data.Data) / len(s.Labels)
	return s.Data.Data[i*n : (i+1)*n]
}

// positions resolves pos (nil for every position; negative entries count
// from the end) against sequences of T tokens.
func positions(pos []int, T int) ([]int, error) {
	if pos == nil {
		out := make([]int, T)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	out := make([]int, len(pos))
	for i, p := range pos {
		if p < 0 {
			p += T
		}
		if p < 0 || p >= T {
			return nil, fmt.Errorf("hooks: position %d out of range for %d tokens", pos[i], T)
		}
		out[i] = p
	}
	return out, nil
}

// stacker gathers components at the chosen positions.
type stacker struct {
	c      *Cache
	B, T   int
	pos    []int
	labels []string
	data   []float32
}

func (c *Cache) stacker(name string, pos []int) (*stacker, error) {
	t, err := c.Lookup(name)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) < 2 {
		return nil, fmt.Errorf("hooks: %s has shape %s, want [batch, pos, ...]", name, tensor.ShapeString(t.Shape))
	}
	B, T := t.Shape[0], t.Shape[1]
	p, err := positions(pos, T)
	if err != nil {
		return nil, err
	}
	return &stacker{c: c, B: B, T: T, pos: p}, nil
}

// add appends the component stored in the named activation, laid out
// [B,T,inner] with its C values at offset off of each row.
func (s *stacker) add(label, name string, inner, off, C int) error {
	t, err := s.c.Lookup(name)
	if err != nil {
		return err
	}
	if len(t.Data) != s.B*s.T*inner {
		return fmt.Errorf("hooks: %s has shape %s, want %d values per position", name, tensor.ShapeString(t.Shape), inner)
	}
	for b := 0; b < s.B; b++ {
		for _, p := range s.pos {
			row := (b*s.T + p) * inner
			s.data = append(s.data, t.Data[row+off:row+off+C]...)
		}
	}
	s.labels = append(s.labels, label)
	return nil
}

func (s *stacker) stack(C int) *Stack {
	return &Stack{Labels: s.labels, Pos: s.pos,
		Data: tensor.View(s.data, len(s.labels), s.B, len(s.pos), C)}
}

// DecomposeResid splits the residual stream at the input of block layer
// (its resid_pre; with mlpInput, its resid_mid, which is resid_pre again in
// parallel blocks; layer = NLayers means the
// final residual stream) into the embeddings and each earlier block's
// attention and MLP outputs, as TransformerLens's decompose_resid: "embed",
// "pos_embed" (absent with shortformer positions, which never enter the
// stream, and rotary ones, which have no embedding), "{l}_attn_out", "{l}_mlp_out". pos keeps those positions only
// (nil keeps every one; negative entries count from the end). The cache
// needs hook_embed, hook_pos_embed and the blocks' hook_attn_out and
// hook_mlp_out.
func (c *Cache) DecomposeResid(cfg models.Config, layer int, mlpInput bool, pos []int) (*Stack, error) {
	cfg = cfg.WithDefaults()
	if layer < 0 || layer > cfg.NLayers || (mlpInput && (layer == cfg.NLayers || cfg.AttnOnly)) {
		return nil, fmt.Errorf("hooks: no residual stream at layer %d (mlp input %v) in a model of %d layers", layer, mlpInput, cfg.NLayers)
	}
	if cfg.ParallelAttnMLP {
		mlpInput = false // the MLP reads resid_pre, as the attention does
	}
	C := cfg.DModel
	s, err := c.stacker(models.ActName("embed", 0), pos)
	if err != nil {
		return nil, err
	}
	if err := s.add("embed", models.ActName("embed", 0), C, 0, C); err != nil {
		return nil, err
	}
	if cfg.Positional == models.PosStandard {
		if err := s.add("pos_embed", models.ActName("pos_embed", 0), C, 0, C); err != nil {
			return nil, err
		}
	}
	for l := 0; l < layer || (mlpInput && l == layer); l++ {
		if err := s.add(strconv.Itoa(l)+"_attn_out", models.ActName("attn_out", l), C, 0, C); err != nil {
			return nil, err
		}
		if cfg.AttnOnly || l == layer {
			continue
		}
		if err := s.add(strconv.Itoa(l)+"_mlp_out", models.ActName("mlp_out", l), C, 0, C); err != nil {
			return nil, err
		}
	}
	return s.stack(C), nil
}

// StackHeadResults returns every head's output (its hook_result) in the
// blocks before layer (layer = NLayers: all of them), labelled "L{l}H{h}", as
// TransformerLens's stack_head_results. The output biases b_O are not part of
// any head. pos is as for DecomposeResid. The cache needs
// blocks.{l}.attn.hook_result (models.Options.AttnResult).
func (c *Cache) StackHeadResults(cfg models.Config, layer int, pos []int) (*Stack, error) {
	cfg = cfg.WithDefaults()
	if layer < 0 || layer > cfg.NLayers {
		return nil, fmt.Errorf("hooks: no layer %d in a model of %d layers", layer, cfg.NLayers)
	}
	if layer == 0 {
		return nil, fmt.Errorf("hooks: no head writes before layer 0")
	}
	C, H := cfg.DModel, cfg.NHeads
	s, err := c.stacker(models.ActName("result", 0), pos)
	if err != nil {
		return nil, err
	}
	for l := 0; l < layer; l++ {
		for h := 0; h < H; h++ {
			if err := s.add(models.Head{Layer: l, Head: h}.String(), models.ActName("result", l), H*C, h*C, C); err != nil {
				return nil, err
			}
		}
	}
	return s.stack(C), nil
}

// ApplyLNToStack applies to every component of s, in place, the LayerNorm
// that reads the residual stream at layer (ln1 of block layer, ln2 with
// mlpInput, ln_final when layer = NLayers) as this very run applied it:
// centred over d_model and divided by that LayerNorm's cached hook_scale,
// the gain and bias left out, as TransformerLens's apply_ln_to_stack. The
// components then add up to the LayerNorm's input normalized, so each one's
// projection on a direction is its exact share. RMSNorm is applied the same
// way without the centring. Without normalization it does nothing.
func (c *Cache) ApplyLNToStack(cfg models.Config, s *Stack, layer int, mlpInput bool) error {
	cfg = cfg.WithDefaults()
	if !cfg.HasNorm() {
		return nil
	}
	centre := cfg.HasLN()
	name := models.ActName("ln_final.scale", 0)
	switch {
	case layer < 0 || layer > cfg.NLayers || (mlpInput && (layer == cfg.NLayers || cfg.AttnOnly)):
		return fmt.Errorf("hooks: no LayerNorm at layer %d (mlp input %v) in a model of %d layers", layer, mlpInput, cfg.NLayers)
	case mlpInput:
		name = models.ActName("ln2.scale", layer)
	case layer < cfg.NLayers:
		name = models.ActName("ln1.scale", layer)
	}
	scale, err := c.Lookup(name) // [B,T,1]
	if err != nil {
		return err
	}
	n, B, P, C := s.Data.Shape[0], s.Data.Shape[1], s.Data.Shape[2], s.Data.Shape[3]
	if len(scale.Shape) != 3 || scale.Shape[0] != B {
		return fmt.Errorf("hooks: %s has shape %s, the stack %d sequences", name, tensor.ShapeString(scale.Shape), B)
	}
	T := scale.Shape[1]
	for i := 0; i < n; i++ {
		for b := 0; b < B; b++ {
			for j, p := range s.Pos {
				v := s.Data.Data[((i*B+b)*P+j)*C:][:C]
				var mean float64
				for _, e := range v {
					mean += float64(e)
				}
				mean /= float64(C)
				if !centre {
					mean = 0
				}
				sc := float64(scale.Data[b*T+p])
				for k, e := range v {
					v[k] = float32((float64(e) - mean) / sc)
				}
			}
		}
	}
	return nil
}
