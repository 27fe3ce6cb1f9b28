package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newAttentionCmd) }

func newAttentionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attention --model DIR (--text \"...\" | --tokens 3,14,15) [-o attention.html]",
		Short: "Write a self-contained page exploring every attention head on one prompt",
		Long: `Run a checkpoint on one prompt and write the attention explorer: every
layer × head pattern as a thumbnail (hover to preview, click to lock, click
again or press Escape to unlock), the focused head as a large heatmap with
a tooltip giving query token, key token and weight, a token strip showing
where a token attends or what attends to it, query and key ranges for long
prompts, and each head's role and scores (probes.Heads; --roles=false
skips them). The page works offline from file:// and makes no network
request. See docs/attention-explorer.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			return runAttention(cmd.OutOrStdout(), cmd.ErrOrStderr(), attentionArgs{
				model: v.GetString("model"), tokens: v.GetString("tokens"), text: v.GetString("text"),
				out: v.GetString("out"), bits: v.GetInt("bits"), roles: v.GetBool("roles"),
			})
		},
	}
	f := cmd.Flags()
	f.String("model", "", "checkpoint directory (config.json + model.safetensors)")
	f.String("tokens", "", "the prompt as token ids, comma-separated")
	f.String("text", "", "the prompt as text, encoded with the model's tokenizer")
	f.StringP("out", "o", "attention.html", "the page to write")
	f.Int("bits", 0, "precision each weight is stored with: 8, 16, or 0 (16 up to 2^20 weights, else 8)")
	f.Bool("roles", true, "label each head with its role and scores (probes.Heads: runs the model on repeated random tokens)")
	addFlagFile(cmd)
	return cmd
}

type attentionArgs struct {
	model, tokens, text, out string
	bits                     int
	roles                    bool
}

func runAttention(w, errw io.Writer, a attentionArgs) error {
	if a.model == "" {
		return errors.New("--model is required")
	}
	if a.out == "" {
		return errors.New("--out is empty")
	}
	m, err := models.Load(a.model)
	if err != nil {
		return err
	}
	seqs, tok, err := promptTokens(m, a.model, a.tokens, a.text)
	if err != nil {
		return err
	}
	if len(seqs) != 1 {
		return fmt.Errorf("--tokens: attention shows one prompt; got %d sequences", len(seqs))
	}
	d, err := attentionData(context.Background(), m, seqs[0], tok)
	if err != nil {
		return err
	}
	d.Title = modelTitle(a.model)
	if a.roles {
		if d.Heads, err = headInfo(m); err != nil {
			// Roles are a label on the page, not the page: say why they are missing and go on.
			fmt.Fprintf(errw, "mechinterp attention: no head roles: %v\n", err)
		}
	}
	r, err := viz.AttentionReport(d, viz.AttentionOptions{Bits: a.bits})
	if err != nil {
		return err
	}
	if err := r.WriteFile(a.out); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(a.out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(w, "wrote %s (%s): %d tokens, %d layers × %d heads; open it in a browser, it needs no network\n",
		a.out, humanBytes(size), len(d.Tokens), m.Config.NLayers, m.Config.NHeads)
	return nil
}

// attentionData runs m on one prompt and returns every head's hook_pattern, with each
// token's display string. The run stops early, with ctx's error, when ctx ends.
func attentionData(ctx context.Context, m *models.Model, ids []int, tok tokenizer.Tokenizer) (*viz.AttentionData, error) {
	T, c := len(ids), m.Config
	spec := hooks.Spec{
		Cache: hooks.MustFilter("blocks.*.attn.hook_pattern"),
		// Checked at each block, so a server can drop a prompt its page no longer wants.
		Hooks: []hooks.Hook{hooks.At("blocks.*.hook_resid_pre", func(string, *tensor.Tensor) (*tensor.Tensor, error) {
			return nil, ctx.Err()
		})},
	}
	_, cache, err := hooks.Run(m, ids, 1, T, spec)
	if err != nil {
		return nil, err
	}
	d := &viz.AttentionData{Tokens: tokenStrings(ids, tok), IDs: ids, Patterns: make([][][]float32, c.NLayers)}
	for l := range d.Patterns {
		p, err := cache.Lookup(fmt.Sprintf("blocks.%d.attn.hook_pattern", l)) // [1, H, T, T]
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

// tokenStrings gives each id its tokenizer's text (promptTokens says which tokenizer applies),
// or the id itself without one.
func tokenStrings(ids []int, tok tokenizer.Tokenizer) []string {
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

// headInfo labels every head of m with its role and run-time scores (probes.Heads, default
// options: 32 prompts [BOS]+r+r).
func headInfo(m *models.Model) ([][]viz.HeadInfo, error) {
	s, err := probes.Heads(m, probes.HeadOptions{})
	if err != nil {
		return nil, err
	}
	out := make([][]viz.HeadInfo, s.Layers)
	for l := range out {
		out[l] = make([]viz.HeadInfo, s.Heads)
		for h := range out[l] {
			info := viz.HeadInfo{Scores: map[string]float64{}}
			if role := s.Roles[l][h]; role != probes.RoleNone {
				info.Role = role
			}
			for name, x := range map[string][][]float64{
				"prefix_matching": s.PrefixMatching, "copying": s.Copying, "previous_token": s.PreviousToken,
				"duplicate_token": s.DuplicateToken, "induction": s.Induction,
			} {
				if l < len(x) && h < len(x[l]) && !math.IsNaN(x[l][h]) && !math.IsInf(x[l][h], 0) {
					info.Scores[name] = x[l][h]
				}
			}
			out[l][h] = info
		}
	}
	return out, nil
}

// modelTitle names a checkpoint directory for a page: its last two path elements
// (run/checkpoints/step-001500 → checkpoints/step-001500).
func modelTitle(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	return filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
