package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz/attention"
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
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			return runAttention(cmd.OutOrStdout(), cmd.ErrOrStderr(), v)
		}),
	}
	addModelFlag(cmd)
	addTextFlags(cmd, "the prompt as token ids, comma-separated", "the prompt as text, encoded with the model's tokenizer")
	addOutFlag(cmd, "attention.html", "the page to write")
	f := cmd.Flags()
	f.Int("bits", 0, "precision each weight is stored with: 8, 16, or 0 (16 up to 2^20 weights, else 8)")
	f.Bool("roles", true, "label each head with its role and scores (probes.Heads: runs the model on repeated random tokens)")
	addFlagFile(cmd)
	return cmd
}

func runAttention(w, errw io.Writer, v *viper.Viper) error {
	out := v.GetString("out")
	if out == "" {
		return errors.New("--out is empty")
	}
	m, dir, seqs, tok, err := modelPrompt(v)
	if err != nil {
		return err
	}
	if len(seqs) != 1 {
		return fmt.Errorf("--tokens: attention shows one prompt; got %d sequences", len(seqs))
	}
	d, err := report.AttentionData(context.Background(), m, dir, seqs[0], tok, v.GetBool("roles"), errw)
	if err != nil {
		return err
	}
	r, err := attention.Page(d, attention.Options{Bits: v.GetInt("bits")})
	if err != nil {
		return err
	}
	if err := r.WriteFile(out); err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(w, "wrote %s (%s): %d tokens, %d layers × %d heads; open it in a browser, it needs no network\n",
		out, humanBytes(size), len(d.Tokens), m.Config.NLayers, m.Config.NHeads)
	return nil
}
