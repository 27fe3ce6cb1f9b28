package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/models"
)

func init() { subcommands = append(subcommands, newGenerateCmd) }

func newGenerateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate --model DIR (--text ... | --tokens ...) [--new 20] [--samples 1]",
		Short: "Sample continuations of a prompt: temperature, top-k, top-p, seeded",
		Args:  cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			m, _, seqs, tok, err := modelPrompt(v)
			if err != nil {
				return err
			}
			if v.GetInt("samples") < 1 {
				return fmt.Errorf("--samples %d: want at least 1", v.GetInt("samples"))
			}
			if err := m.Config.CheckForward(v.GetInt("samples"), len(seqs[0])+v.GetInt("new")); err != nil {
				return fmt.Errorf("--samples %d: %w", v.GetInt("samples"), err)
			}
			var prompts [][]int
			for range v.GetInt("samples") {
				prompts = append(prompts, seqs...)
			}
			opt := models.SampleOptions{Temperature: v.GetFloat64("temperature"), TopK: v.GetInt("top-k"), TopP: v.GetFloat64("top-p"), Seed: v.GetUint64("seed")}
			out, err := models.Generate(m, prompts, v.GetInt("new"), opt)
			if err != nil {
				return err
			}
			if v.GetBool("json") {
				return printJSON(cmd.OutOrStdout(), out)
			}
			for _, s := range out {
				if tok != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%q\n", tok.Decode(s))
				} else {
					fmt.Fprintln(cmd.OutOrStdout(), s)
				}
			}
			return nil
		}),
	}
	addModelFlag(cmd)
	addTextFlags(cmd, "prompt as token ids, comma-separated; sequences of one length separated by ';'", "prompt as text for the model's tokenizer")
	f := cmd.Flags()
	f.Int("new", 20, "tokens to generate")
	f.Int("samples", 1, "continuations per prompt")
	f.Float64("temperature", 1, "sampling temperature (negative: greedy)")
	f.Int("top-k", 0, "keep the k most likely tokens (0: all)")
	f.Float64("top-p", 0, "nucleus sampling threshold (0: off)")
	f.Uint64("seed", 1, "sampling seed")
	addJSONFlag(cmd, "token ids")
	addFlagFile(cmd)
	return cmd
}
