package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

func init() { subcommands = append(subcommands, newRunCmd) }

func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run --model DIR (--tokens 3,14,15 | --text \"...\") [--process STEPS]",
		Short: "Run one forward pass and print the top next-token predictions",
		Long: `Run one forward pass of a checkpoint and print the most likely next tokens
after the last position. Several sequences of equal length may be given
as --tokens "1,2,3;4,5,6". --logits writes the logits [batch,pos,vocab] and
--cache the activations selected by --names to safetensors files.

--text is encoded with the model directory's tokenizer: GPT-2's BPE when it
holds vocab.json and merges.txt (a Hugging Face GPT-2 directory does), else
byte-level; "<|endoftext|>" in the text is the special token.

--process rewrites the weights as TransformerLens does before the pass:
fold_ln, center_writing, center_unembed, fold_value_biases (comma-separated,
or all). The log-probabilities stay the same; center_unembed shifts each
position's logits by their mean, and fold_value_biases moves the value bias
out of hook_v and hook_z. See docs/gpt2.md.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			return runForward(cmd.OutOrStdout(), v)
		}),
	}
	addModelFlag(cmd)
	addTextFlags(cmd, "token ids, comma-separated; sequences separated by ';'",
		"text to encode with the model directory's tokenizer (GPT-2 BPE, else byte-level)")
	f := cmd.Flags()
	f.Int("top", 10, "how many predictions to print")
	f.String("logits", "", "write the logits [batch,pos,vocab] to this safetensors file")
	f.String("cache", "", "write the activations selected by --names to this safetensors file")
	f.String("names", "*", "hook-point filter for --cache: names and globs, comma-separated")
	addJSONFlag(cmd, "predictions")
	f.String("process", "", "weight processing before the pass: fold_ln,center_writing,center_unembed,fold_value_biases or all")
	addFlagFile(cmd)
	return cmd
}

func runForward(w io.Writer, v *viper.Viper) error {
	dir := v.GetString("model")
	if dir == "" {
		return errors.New("--model is required")
	}
	proc, err := models.ParseProcessOptions(v.GetString("process"))
	if err != nil {
		return fmt.Errorf("--process: %w", err)
	}
	m, err := models.LoadProcessed(dir, proc)
	if err != nil {
		return err
	}
	seqs, tok, err := promptTokens(m, dir, v.GetString("tokens"), v.GetString("text"))
	if err != nil {
		return err
	}
	B, T := len(seqs), len(seqs[0])
	flat := make([]int, 0, B*T)
	for _, s := range seqs {
		flat = append(flat, s...)
	}
	spec, logits, cacheOut := hooks.Spec{}, v.GetString("logits"), v.GetString("cache")
	if cacheOut != "" {
		if spec.Cache, err = hooks.NewFilter(v.GetString("names")); err != nil {
			return err
		}
		if err := spec.Cache.Check(m.Config); err != nil {
			return err
		}
	}
	pass, cache, err := hooks.Run(m, flat, B, T, spec)
	if err != nil {
		return err
	}
	if logits != "" {
		if err := safetensors.Write(logits, map[string]*tensor.Tensor{"logits": pass.Logits}, nil); err != nil {
			return err
		}
	}
	if cacheOut != "" {
		if err := safetensors.Write(cacheOut, cache.Map(), nil); err != nil {
			return err
		}
	}
	V := m.Config.DVocab
	results := make([][]models.Prediction, B)
	for b := 0; b < B; b++ {
		row := pass.Logits.Data[(b*T+T-1)*V : (b*T+T)*V]
		results[b] = models.TopPredictions(row, v.GetInt("top"), tok)
	}
	if v.GetBool("json") {
		return printJSON(w, map[string]any{"tokens": seqs, "predictions": results})
	}
	report.PredictionsText(w, results, T, tok != nil)
	return nil
}
