package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newPatchCmd) }

func newPatchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   `patch --model DIR --clean "..." --corrupted "..." --answer X --wrong Y [--tokens-mode] [-o patch.html]`,
		Short: "Find the components that carry an answer: activation and attribution patching, direct logit attribution",
		Long: `Run a clean and a corrupted prompt of equal length, then the corrupted one again
with each component's clean activation patched in: the residual stream by layer
and position, attention and MLP outputs, each head, each head at each position.
The metric is logit(answer) - logit(wrong) at the last position, normalised so
that 1 restores the clean run and 0 changes nothing. Attribution patching
estimates the same cells from one backward pass, and direct logit attribution
splits the clean logit difference over components.

Prompts are text, encoded with the model's tokenizer, and --answer/--wrong are
text that must encode to one token each; with --tokens-mode, prompts are
comma-separated token ids and --answer/--wrong are token ids.`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			return runPatch(cmd.OutOrStdout(), progressWriter(cmd.ErrOrStderr(), false), v)
		}),
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("clean", "", "the clean prompt (text, or token ids with --tokens-mode)")
	f.String("corrupted", "", "the corrupted prompt, as long as the clean one")
	f.String("answer", "", "the token the clean prompt should predict (single-token text, or an id with --tokens-mode)")
	f.String("wrong", "", "the token the corrupted prompt should predict")
	f.Bool("tokens-mode", false, "prompts and answers are token ids")
	addOutFlag(cmd, "patch.html", "HTML report to write (\"\" for none)")
	f.Int("top", 8, "how many components to print")
	addJSONFlag(cmd, "results")
	addFlagFile(cmd)
	return cmd
}

// runPatch runs the patching experiments of the settings v; progress, if not nil, gets a
// line counting the forward passes (one per patched cell; thousands for a GPT-2-sized model),
// redrawn in place.
func runPatch(w, progress io.Writer, v *viper.Viper) error {
	dir, tokensMode, out := v.GetString("model"), v.GetBool("tokens-mode"), v.GetString("out")
	switch {
	case dir == "":
		return errors.New("--model is required")
	case v.GetString("clean") == "" || v.GetString("corrupted") == "":
		return errors.New("give both --clean and --corrupted")
	case v.GetString("answer") == "" || v.GetString("wrong") == "":
		return errors.New("give both --answer and --wrong")
	}
	m, err := models.Load(dir)
	if err != nil {
		return err
	}
	prompt := func(flag string) ([]int, tokenizer.Tokenizer, error) {
		seqs, tok, err := readPrompt(m, dir, v.GetString(flag), tokensMode)
		if err == nil && len(seqs) != 1 {
			err = fmt.Errorf("give one prompt, not %d", len(seqs))
		}
		if err != nil && !tokensMode {
			return nil, nil, fmt.Errorf("--%s: %w (--tokens-mode takes ids)", flag, err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return seqs[0], tok, nil
	}
	clean, tok, err := prompt("clean")
	if err != nil {
		return err
	}
	corrupted, _, err := prompt("corrupted")
	if err != nil {
		return err
	}
	if len(clean) != len(corrupted) {
		return fmt.Errorf("the clean prompt has %d tokens and the corrupted one %d; patching needs equal lengths", len(clean), len(corrupted))
	}
	answer, err := answerToken(m, tok, "answer", v.GetString("answer"), tokensMode)
	if err != nil {
		return err
	}
	wrong, err := answerToken(m, tok, "wrong", v.GetString("wrong"), tokensMode)
	if err != nil {
		return err
	}
	var po circuits.PatchOptions
	if progress != nil {
		po.Progress = report.PatchProgress(progress)
	}
	res, err := circuits.PatchAll(m, clean, corrupted, answer, wrong, po)
	if err != nil {
		return err
	}
	in := report.PatchInputFor(dir, res, tok)
	return show(w, out, func() (*viz.Report, error) { return report.Patch(in) }, v.GetBool("json"), map[string]any{"activation": res.Activation, "attribution": res.Attribution, "dla": res.DLA, "report": out},
		func(w io.Writer) { report.PatchText(w, in, v.GetInt("top"), out) })
}

// answerToken reads --answer or --wrong: a token id in tokens mode, else text
// that the tokenizer encodes to exactly one token.
func answerToken(m *models.Model, tok tokenizer.Tokenizer, flag, s string, tokensMode bool) (int, error) {
	var id int
	if tokensMode {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("--%s: %q is not a token id", flag, s)
		}
		id = n
	} else {
		ids := tok.Encode(s)
		if len(ids) != 1 {
			return 0, fmt.Errorf("--%s: %q encodes to %d tokens, want exactly one (or use --tokens-mode and an id)", flag, s, len(ids))
		}
		id = ids[0]
	}
	if id < 0 || id >= m.Config.DVocab {
		return 0, fmt.Errorf("--%s: token id %d is out of the vocabulary [0,%d)", flag, id, m.Config.DVocab)
	}
	return id, nil
}
