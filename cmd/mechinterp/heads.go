package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newHeadsCmd) }

func newHeadsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "heads --model DIR [--json] [-o heads.html]",
		Short: "Score every attention head (induction, previous token, duplicate token, copying) and give each a role",
		Long: `Run a checkpoint on repeated random tokens ([BOS] + r + r) and score every
head: prefix matching and copying (Olsson et al. 2022), TransformerLens's
previous-token, duplicate-token and induction detectors, and the induction
loss. Prints a table with a role per head and writes an HTML report.

The detectors run on the repeated prompts unless --tokens/--text give prompts
of your own. When the checkpoint sits in a training run (RUN/checkpoints/
step-N) whose run.yaml uses the synthetic language, r is drawn from its
middle 80% of tokens, as Olsson et al. avoid the commonest and rarest tokens;
a run on repeated tokens lends its token range and BOS.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			return runHeads(cmd.OutOrStdout(), v)
		}),
	}
	addModelFlag(cmd)
	addJSONFlag(cmd, "scores")
	addOutFlag(cmd, "heads.html", "HTML report to write")
	addPromptFlags(cmd)
	addTextFlags(cmd, "detector prompts as token ids, comma-separated; sequences separated by ';'",
		"detector prompt as text, encoded with the model directory's tokenizer")
	f := cmd.Flags()
	f.Bool("exclude-bos", false, "detectors ignore attention to position 0")
	f.Bool("exclude-diagonal", false, "detectors ignore attention of a token to itself")
	addFlagFile(cmd)
	return cmd
}

// addPromptFlags adds the flags of the repeated prompts shared by heads and track.
func addPromptFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Int("len", 0, "|r|, the length of the repeated random block (0: min(25, (n_ctx-1)/2))")
	f.Int("batch", 32, "number of repeated prompts")
	f.Uint64("seed", 1, "seed of the repeated prompts")
	f.Int("min-token", -1, "smallest token id of r (-1: from the run's data, else 0)")
	f.Int("max-token", -1, "token ids of r are below this (-1: from the run's data, else d_vocab)")
}

// repeatOptions reads the prompt flags over the default prompts of the run in runDir
// (probes.RepeatForRun).
func repeatOptions(v *viper.Viper, runDir string, vocab int) probes.RepeatOptions {
	o := probes.RepeatForRun(runDir, vocab)
	o.Batch, o.Seed, o.Len = v.GetInt("batch"), v.GetUint64("seed"), v.GetInt("len")
	if lo := v.GetInt("min-token"); lo >= 0 {
		o.MinToken = lo
	}
	if hi := v.GetInt("max-token"); hi >= 0 {
		o.MaxToken = hi
	}
	return o
}

func runHeads(w io.Writer, v *viper.Viper) error {
	m, dir, err := loadModel(v)
	if err != nil {
		return err
	}
	// A checkpoint of a run: RUN/checkpoints/step-N.
	runDir := probes.CheckpointRun(dir)
	o := probes.HeadOptions{Repeat: repeatOptions(v, runDir, m.Config.DVocab),
		Detect: probes.DetectOptions{ExcludeBOS: v.GetBool("exclude-bos"), ExcludeDiagonal: v.GetBool("exclude-diagonal")}}
	if v.GetString("tokens") != "" || v.GetString("text") != "" {
		seqs, _, err := promptTokens(m, dir, v.GetString("tokens"), v.GetString("text"))
		if err != nil {
			return err
		}
		if len(seqs[0]) < 2 {
			return errors.New("the detector prompt needs at least 2 tokens")
		}
		for _, s := range seqs {
			o.DetectTokens = append(o.DetectTokens, s...)
		}
		o.DetectBatch = len(seqs)
	}
	s, err := probes.Heads(m, o)
	if err != nil {
		return err
	}
	out := v.GetString("out")
	return show(w, out, func() (*viz.Report, error) { return report.Heads(s, dir) }, v.GetBool("json"), report.HeadsJSON(s),
		func(w io.Writer) { report.HeadsText(w, s, out) })
}
