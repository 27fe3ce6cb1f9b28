package circuits

import (
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// DLATerm is one component's direct contribution to the logit difference.
type DLATerm struct {
	// Name is "embed", "pos_embed", "L{l}H{h}" (a head), "attn_bias {l}"
	// (layer l's b_O), "mlp {l}" (hook_mlp_out, b_out included) or "bias"
	// (ln_final's bias and b_U).
	Name string `json:"name"`
	// Kind is "embed", "pos_embed", "head", "attn_bias", "mlp" or "bias".
	Kind  string `json:"kind"`
	Layer int    `json:"layer"` // -1 for embeddings and the final bias
	Head  int    `json:"head"`  // -1 unless Kind is "head"
	// Value is the term's share of the logit difference, averaged over the batch.
	Value float64 `json:"value"`
}

// DLA is a direct logit attribution: the logit difference at one position
// split into what each component wrote into the residual stream.
type DLA struct {
	Pos    int `json:"pos"`
	Answer int `json:"answer"`
	Wrong  int `json:"wrong"`
	// LogitDiff is logits[pos,answer] - logits[pos,wrong] of the model's own
	// forward pass, averaged over the batch. The terms sum to it.
	LogitDiff float64   `json:"logit_diff"`
	Terms     []DLATerm `json:"terms"`
}

// Sum returns the sum of the terms (equal to LogitDiff up to rounding).
func (d *DLA) Sum() float64 {
	var s float64
	for _, t := range d.Terms {
		s += t.Value
	}
	return s
}

// Heads returns the heads' terms as a [layer][head] matrix.
func (d *DLA) Heads(nLayers, nHeads int) [][]float64 {
	out := make([][]float64, nLayers)
	for l := range out {
		out[l] = make([]float64, nHeads)
	}
	for _, t := range d.Terms {
		if t.Kind == "head" && t.Layer < nLayers && t.Head < nHeads {
			out[t.Layer][t.Head] = t.Value
		}
	}
	return out
}

// Term returns the value of the term with the given name, and whether there is one.
func (d *DLA) Term(name string) (float64, bool) {
	for _, t := range d.Terms {
		if t.Name == name {
			return t.Value, true
		}
	}
	return 0, false
}

func checkAnswer(c models.Config, answer, wrong int) error {
	for _, x := range []struct {
		name string
		id   int
	}{{"answer", answer}, {"wrong", wrong}} {
		if x.id < 0 || x.id >= c.DVocab {
			return fmt.Errorf("circuits: %s token %d is out of the vocabulary [0,%d)", x.name, x.id, c.DVocab)
		}
	}
	if answer == wrong {
		return fmt.Errorf("circuits: answer and wrong token are both %d; the logit difference would be 0", answer)
	}
	return nil
}

// DirectLogitAttribution splits the logit difference logits[pos,answer] -
// logits[pos,wrong] over the components that write into the final residual
// stream (Elhage et al. 2021, "direct path"; TransformerLens's
// decompose_resid and stack_head_results): the token and positional
// embeddings, each head's output (hook_result), each layer's b_O, each MLP
// (hook_mlp_out) and the final biases. Each component x contributes
// (x - mean(x)) / scale · (ln_final.w ⊙ (W_U[:,answer] - W_U[:,wrong])), with
// scale ln_final.hook_scale of this very run, so the terms add up to the
// logit difference exactly, LayerNorm included; without LayerNorm the centring
// and scale drop out and the projection is linear.
//
// tokens holds B sequences of T tokens each (B = len(tokens)/T); terms are
// averaged over them. pos is the position whose logits are split; negative pos
// counts from the end (-1 is the last).
func DirectLogitAttribution(m *models.Model, tokens []int, T, pos int, answer, wrong int) (*DLA, error) {
	if m == nil {
		return nil, fmt.Errorf("circuits: nil model")
	}
	c := m.Config
	if T <= 0 || len(tokens) == 0 || len(tokens)%T != 0 {
		return nil, fmt.Errorf("circuits: %d tokens are not whole sequences of length %d", len(tokens), T)
	}
	B := len(tokens) / T
	if err := m.CheckTokens(tokens, B, T); err != nil {
		return nil, fmt.Errorf("circuits: %w", err)
	}
	if pos < 0 {
		pos += T
	}
	if pos < 0 || pos >= T {
		return nil, fmt.Errorf("circuits: position %d out of range for %d tokens", pos, T)
	}
	if err := checkAnswer(c, answer, wrong); err != nil {
		return nil, err
	}
	L, C, V := c.NLayers, c.DModel, c.DVocab
	ln, centre := c.HasNorm(), c.HasLN() // RMSNorm divides by its scale without centring
	names := []string{"hook_embed", "hook_pos_embed", "blocks.*.hook_attn_out", "blocks.*.attn.hook_result"}
	if !c.AttnOnly {
		names = append(names, "blocks.*.hook_mlp_out")
	}
	if ln {
		names = append(names, "ln_final.hook_scale")
	}
	pass, cache, err := hooks.Run(m, tokens, B, T, hooks.Spec{Cache: hooks.MustFilter(names...)})
	if err != nil {
		return nil, fmt.Errorf("circuits: direct logit attribution: %w", err)
	}
	// What each component wrote into the final residual stream at pos, each
	// [B,1,C], then as ln_final saw it: centred and divided by its scale.
	resid, err := cache.DecomposeResid(c, L, false, []int{pos})
	if err != nil {
		return nil, fmt.Errorf("circuits: direct logit attribution: %w", err)
	}
	heads, err := cache.StackHeadResults(c, L, []int{pos})
	if err != nil {
		return nil, fmt.Errorf("circuits: direct logit attribution: %w", err)
	}
	for _, s := range []*hooks.Stack{resid, heads} {
		if err := cache.ApplyLNToStack(c, s, L, false); err != nil {
			return nil, fmt.Errorf("circuits: direct logit attribution: %w", err)
		}
	}

	// dir = ln_final.w ⊙ (W_U[:,answer] - W_U[:,wrong]).
	wu, err := m.Weight("W_U", 0)
	if err != nil {
		return nil, fmt.Errorf("circuits: %w", err)
	}
	dir := make([]float64, C)
	for i := range dir {
		dir[i] = float64(wu.Data[i*V+answer]) - float64(wu.Data[i*V+wrong])
	}
	var bias float64
	if bu, err := m.Weight("b_U", 0); err == nil {
		bias = float64(bu.Data[answer]) - float64(bu.Data[wrong])
	}
	if ln {
		g, _ := m.Weight("ln_final.w", 0)
		b, _ := m.Weight("ln_final.b", 0)
		for i := range dir {
			bias += float64(b.Data[i]) * dir[i]
			dir[i] *= float64(g.Data[i])
		}
	}
	// project returns the batch mean of a stack component [B,1,C] · dir.
	project := func(s *hooks.Stack, label string) float64 {
		for i, l := range s.Labels {
			if l != label {
				continue
			}
			x := s.Component(i)
			var total float64
			for b := 0; b < B; b++ {
				for k, e := range x[b*C : (b+1)*C] {
					total += float64(e) * dir[k]
				}
			}
			return total / float64(B)
		}
		panic("circuits: no component " + label) // DecomposeResid and StackHeadResults make every label asked for
	}
	// projectConst projects a bias added at every position, which
	// ApplyLNToStack does not hold: it is centred and divided by each
	// sequence's ln_final scale here.
	projectConst := func(v []float32) float64 {
		var mean float64
		if centre {
			for _, e := range v {
				mean += float64(e)
			}
			mean /= float64(C)
		}
		var s, total float64
		for i, e := range v {
			s += (float64(e) - mean) * dir[i]
		}
		for b := 0; b < B; b++ {
			sc := 1.0
			if ln {
				sc = float64(cache.Get(models.ActName("ln_final.scale", 0)).Data[b*T+pos])
			}
			total += s / sc
		}
		return total / float64(B)
	}

	d := &DLA{Pos: pos, Answer: answer, Wrong: wrong}
	d.Terms = append(d.Terms, DLATerm{Name: "embed", Kind: "embed", Layer: -1, Head: -1, Value: project(resid, "embed")})
	if c.Positional == models.PosStandard { // shortformer positions never enter the residual stream; rotary ones have no embedding
		d.Terms = append(d.Terms, DLATerm{Name: "pos_embed", Kind: "pos_embed", Layer: -1, Head: -1, Value: project(resid, "pos_embed")})
	}
	for l := 0; l < L; l++ {
		for h := 0; h < c.NHeads; h++ {
			name := Head{Layer: l, Head: h}.String()
			d.Terms = append(d.Terms, DLATerm{Name: name, Kind: "head", Layer: l, Head: h, Value: project(heads, name)})
		}
		bo, err := m.Weight("b_O", l)
		if err != nil {
			return nil, fmt.Errorf("circuits: %w", err)
		}
		d.Terms = append(d.Terms, DLATerm{Name: fmt.Sprintf("attn_bias %d", l), Kind: "attn_bias", Layer: l, Head: -1, Value: projectConst(bo.Data)})
		if !c.AttnOnly {
			d.Terms = append(d.Terms, DLATerm{Name: fmt.Sprintf("mlp %d", l), Kind: "mlp", Layer: l, Head: -1,
				Value: project(resid, fmt.Sprintf("%d_mlp_out", l))})
		}
	}
	d.Terms = append(d.Terms, DLATerm{Name: "bias", Kind: "bias", Layer: -1, Head: -1, Value: bias})
	d.LogitDiff = meanLogitDiff(pass.Logits, pos, answer, wrong)
	if math.IsNaN(d.LogitDiff) {
		return nil, fmt.Errorf("circuits: the model's logits are NaN")
	}
	return d, nil
}

// meanLogitDiff returns logits[b,pos,answer] - logits[b,pos,wrong] averaged over b.
func meanLogitDiff(logits *tensor.Tensor, pos, answer, wrong int) float64 {
	B, T, V := logits.Shape[0], logits.Shape[1], logits.Shape[2]
	var s float64
	for b := 0; b < B; b++ {
		row := logits.Data[(b*T+pos)*V : (b*T+pos+1)*V]
		s += float64(row[answer]) - float64(row[wrong])
	}
	return s / float64(B)
}
