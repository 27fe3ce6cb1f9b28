package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newLensCmd) }

func newLensCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lens --model DIR (--text ... | --tokens ...) [--tuned DIR] [--answer X] [-o lens.html]",
		Short: "The logit lens and the tuned lens: what each layer's residual stream predicts",
		Long: `Read the residual stream after each layer through the final normalization and
the unembedding (the logit lens), or through a tuned lens's translator first
(--tuned, made by 'mechinterp lens train'): per layer and position the top
tokens, the probability and rank of the next token (of --answer at the last
position), and the KL divergence to the model's final distribution.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			m, _, seqs, tok, err := modelPrompt(v)
			if err != nil {
				return err
			}
			if len(seqs) != 1 {
				return fmt.Errorf("give one prompt, not %d", len(seqs))
			}
			o := circuits.LensOptions{TopK: v.GetInt("top"), Answer: -1}
			if a := v.GetString("answer"); a != "" {
				if o.Answer, err = answerToken(m, tok, "answer", a, v.GetString("tokens") != ""); err != nil {
					return err
				}
			}
			if d := v.GetString("tuned"); d != "" {
				if o.Tuned, err = circuits.LoadTunedLens(d); err != nil {
					return err
				}
			}
			lens, err := circuits.ApplyLens(m, seqs[0], o)
			if err != nil {
				return err
			}
			out, label := v.GetString("out"), report.TokenLabel(tok)
			return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.LensPage(lens, label) }, v.GetBool("json"), lens,
				func(w io.Writer) { report.LensText(w, lens, label, out) })
		}),
	}
	addModelFlag(cmd)
	addTextFlags(cmd, "the prompt as comma-separated token ids", "the prompt as text, for the model's tokenizer")
	f := cmd.Flags()
	f.String("tuned", "", "a tuned lens directory (from 'mechinterp lens train'); default the logit lens")
	f.String("answer", "", "the token expected after the prompt (text, or an id with --tokens)")
	f.Int("top", 5, "top tokens kept per layer and position")
	addOutFlag(cmd, "", "HTML report to write")
	addJSONFlag(cmd, "lens")
	addFlagFile(cmd)
	cmd.AddCommand(newLensTrainCmd())
	return cmd
}

func newLensTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train --model DIR (--run RUN_DIR | --text-file FILE) --out LENS_DIR",
		Short: "Train a tuned lens and compare it with the logit lens on held-out sequences",
		Long: `Train one affine translator per layer (Belrose et al. 2023) so that the lens's
next-token distribution matches the model's final one, on sequences of the
training run's own token source (--run) or windows of a text file (--text-file,
through the model's tokenizer; the first 10% are held out). Print the mean KL
to the final distribution by layer for both lenses on held-out sequences.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			m, dir, err := loadModel(v)
			if err != nil {
				return err
			}
			out := v.GetString("out")
			if out == "" {
				return errors.New("--out (the lens directory) is required")
			}
			T := v.GetInt("len")
			if T <= 0 || T > m.Config.NCtx {
				T = m.Config.NCtx
			}
			var trainSeqs, heldOut [][]int
			switch runDir, file := v.GetString("run"), v.GetString("text-file"); {
			case runDir != "" && file != "":
				return errors.New("give --run or --text-file, not both")
			case runDir != "":
				if trainSeqs, err = circuits.LensSequences(runDir, v.GetInt("sequences"), T, false); err == nil {
					heldOut, err = circuits.LensSequences(runDir, v.GetInt("held-out"), T, true)
				}
			case file != "":
				var text []byte
				var tok tokenizer.Tokenizer
				if text, err = os.ReadFile(file); err == nil {
					if tok, err = tokenizerIn(m, dir); err == nil {
						trainSeqs, heldOut, err = circuits.TextSequences(tok.Encode(string(text)), T, 0.1)
					}
				}
			default:
				return errors.New("give the training sequences with --run or --text-file")
			}
			if err != nil {
				return err
			}
			lens, cmp, err := circuits.TuneLens(m, trainSeqs, heldOut, circuits.TunedLensOptions{Steps: v.GetInt("steps"), LR: v.GetFloat64("lr"), Seed: v.GetUint64("seed")})
			if err != nil {
				return err
			}
			if err := lens.Save(out); err != nil {
				return err
			}
			if v.GetBool("json") {
				return printJSON(cmd.OutOrStdout(), cmp)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "tuned lens saved to %s; mean KL to the final distribution on %d held-out sequences:\n", out, cmp.HeldOut)
			fmt.Fprintf(w, "%-8s %10s %10s\n", "layer", "logit lens", "tuned lens")
			for i, name := range cmp.Layers {
				fmt.Fprintf(w, "%-8s %10.4f %10.4f\n", name, cmp.LogitKL[i], cmp.TunedKL[i])
			}
			return nil
		}),
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("run", "", "a training run directory whose token source (run.yaml) gives the sequences")
	f.String("text-file", "", "a text file, cut into windows of --len tokens")
	f.StringP("out", "o", "", "directory to write the tuned lens to")
	f.Int("len", 0, "tokens per sequence (0: the model's context)")
	f.Int("sequences", 512, "training sequences drawn from --run")
	f.Int("held-out", 64, "held-out sequences drawn from --run")
	f.Int("steps", 300, "training steps of 8 sequences")
	f.Float64("lr", 1e-3, "AdamW learning rate")
	f.Uint64("seed", 1, "seed of the batch order")
	addJSONFlag(cmd, "KL by layer")
	addFlagFile(cmd)
	return cmd
}
