package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			return runHeads(cmd.OutOrStdout(), v)
		},
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

// repeatOptions reads the prompt flags; data is the run's data config, if known.
func repeatOptions(v *viper.Viper, dc *data.Config, vocab int) probes.RepeatOptions {
	o := runRepeat(dc, vocab)
	o.Batch, o.Seed, o.Len = v.GetInt("batch"), v.GetUint64("seed"), v.GetInt("len")
	if lo := v.GetInt("min-token"); lo >= 0 {
		o.MinToken = lo
	}
	if hi := v.GetInt("max-token"); hi >= 0 {
		o.MaxToken = hi
	}
	return o
}

// runRepeat returns the repeated prompts of the prompt flags' defaults (32 prompts, seed 1),
// with the token range of the run's data config dc, if known: the synthetic language's
// middle tokens, or the repeated data's range and BOS.
func runRepeat(dc *data.Config, vocab int) probes.RepeatOptions {
	o := probes.RepeatOptions{Batch: 32, Seed: 1}
	switch {
	case dc != nil && dc.Kind == data.KindSynthetic:
		o.RepeatedConfig = dc.Synthetic.EvalRepeated(0, 2)
		o.RepeatedConfig.Len = 0
	case dc != nil && dc.Kind == data.KindReference:
		// Trained without BOS: measured on r + r, as the recipe's PyTorch
		// twin (scripts/induction_reference.py) measures it.
		o.RepeatedConfig = dc.Reference.EvalRepeated(0, 2)
		o.RepeatedConfig.Len = 0
	case dc != nil && dc.Kind == data.KindRepeated:
		r := dc.Repeated.WithDefaults()
		o.MinToken, o.MaxToken, o.Exclude, o.BOS, o.NoBOS = r.MinToken, r.MaxToken, r.Exclude, r.BOS, r.NoBOS
	}
	o.Vocab = vocab
	return o
}

// runData returns the data config of the training run in dir (its run.yaml),
// or nil when there is none.
func runData(dir string) *data.Config {
	c, err := run.ReadConfig(dir)
	if err != nil {
		return nil
	}
	return &c.Data
}

func runHeads(w io.Writer, v *viper.Viper) error {
	m, dir, err := loadModel(v)
	if err != nil {
		return err
	}
	// A checkpoint of a run: RUN/checkpoints/step-N.
	dc := runData(filepath.Dir(filepath.Dir(filepath.Clean(dir))))
	o := probes.HeadOptions{Repeat: repeatOptions(v, dc, m.Config.DVocab),
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
	return writeHeads(w, m, dir, o, v.GetString("out"), v.GetBool("json"))
}

// writeHeads scores m's heads, writes their page to out (unless "") and prints them.
func writeHeads(w io.Writer, m *models.Model, dir string, o probes.HeadOptions, out string, asJSON bool) error {
	s, err := probes.Heads(m, o)
	if err != nil {
		return err
	}
	if err := writePage(out, func() (*viz.Report, error) { return report.Heads(s, dir) }); err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, headsJSON(s))
	}
	printHeads(w, s)
	if out != "" {
		fmt.Fprintf(w, "report: %s\n", out)
	}
	return nil
}

// headsJSON drops the detector prompts (which can be long) and non-finite
// losses from what --json prints.
func headsJSON(s *probes.HeadScores) *probes.HeadScores {
	c := *s
	c.Options.DetectTokens = nil
	if il := c.InductionLoss; il != nil {
		cl := *il
		for _, x := range []*float64{&cl.Loss, &cl.FirstCopy} {
			if *x != *x || *x > 1e308 || *x < -1e308 {
				*x = 0
			}
		}
		c.InductionLoss = &cl
	}
	return &c
}

func printHeads(w io.Writer, s *probes.HeadScores) {
	o := s.Options.Repeat
	fmt.Fprintf(w, "%d layers × %d heads, measured on %d prompts [BOS] + r × %d, |r| = %d, tokens [%d, %d)\n",
		s.Layers, s.Heads, o.Batch, o.Repeats, o.Len, o.MinToken, o.MaxToken)
	fmt.Fprintf(w, "%-6s %8s %8s %8s %8s %8s  %s\n", "head", "prefix", "copying", "prev", "dup", "induct", "role")
	for l := range s.Layers {
		for h := range s.Heads {
			fmt.Fprintf(w, "L%dH%-3d %8.3f %8.3f %8.3f %8.3f %8.3f  %s\n", l, h,
				s.PrefixMatching[l][h], s.Copying[l][h], s.PreviousToken[l][h], s.DuplicateToken[l][h], s.Induction[l][h],
				strings.ReplaceAll(s.Roles[l][h], "_", " "))
		}
	}
	if il := s.InductionLoss; il != nil {
		fmt.Fprintf(w, "induction loss %.3f (first copy %.3f)\n", il.Loss, il.FirstCopy)
	}
	t := s.Options.Thresholds
	fmt.Fprintf(w, "roles: induction if prefix >= %g, else previous token if prev >= %g, duplicate token if dup >= %g, copying if copying >= %g\n",
		t.PrefixMatching, t.PreviousToken, t.DuplicateToken, t.Copying)
}
