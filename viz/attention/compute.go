package attention

import (
	"context"
	"path/filepath"
	"strconv"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/tensor"
)

// Compute runs m on one prompt and returns every head's hook_pattern with each token's
// display string (tok's text of each id, or the id itself when tok is nil). The run checks ctx
// at each block and stops early with its error, so a server can drop a prompt its page no
// longer wants.
func Compute(ctx context.Context, m *models.Model, ids []int, tok tokenizer.Tokenizer) (*Data, error) {
	T, c := len(ids), m.Config
	spec := hooks.Spec{
		Cache: hooks.MustFilter("blocks.*.attn.hook_pattern"),
		Hooks: []hooks.Hook{hooks.At("blocks.*.hook_resid_pre", func(string, *tensor.Tensor) (*tensor.Tensor, error) {
			return nil, ctx.Err()
		})},
	}
	_, cache, err := hooks.Run(m, ids, 1, T, spec)
	if err != nil {
		return nil, err
	}
	d := &Data{Tokens: TokenStrings(ids, tok), IDs: ids, Patterns: make([][][]float32, c.NLayers)}
	for l := range d.Patterns {
		p, err := cache.Lookup(models.ActName("pattern", l)) // [1, H, T, T]
		if err != nil {
			return nil, err
		}
		d.Patterns[l] = make([][]float32, c.NHeads)
		for h := range d.Patterns[l] {
			d.Patterns[l][h] = p.Data[h*T*T : (h+1)*T*T]
		}
	}
	return d, nil
}

// TokenStrings gives each id its tokenizer's text, or the id itself when tok is nil.
func TokenStrings(ids []int, tok tokenizer.Tokenizer) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if tok != nil {
			out[i] = tok.Decode([]int{id})
		} else {
			out[i] = strconv.Itoa(id)
		}
	}
	return out
}

// ModelTitle names a checkpoint directory for a page: its last two path elements
// (run/checkpoints/step-001500 → checkpoints/step-001500).
func ModelTitle(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	return filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs))
}
