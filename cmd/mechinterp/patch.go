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
			return runPatch(cmd.OutOrStdout(), progressWriter(cmd.ErrOrStderr(), false), patchArgs{
				model: v.GetString("model"), clean: v.GetString("clean"), corrupted: v.GetString("corrupted"),
				answer: v.GetString("answer"), wrong: v.GetString("wrong"), tokensMode: v.GetBool("tokens-mode"),
				out: v.GetString("out"), top: v.GetInt("top"), json: v.GetBool("json"),
			})
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

type patchArgs struct {
	model, clean, corrupted, answer, wrong string
	tokensMode                             bool
	out                                    string
	top                                    int
	json                                   bool
}

// runPatch runs the patching experiments of a; progress, if not nil, gets a
// line counting the forward passes (one per patched cell; thousands for a
// GPT-2-sized model), redrawn in place.
func runPatch(w, progress io.Writer, a patchArgs) error {
	if a.model == "" {
		return errors.New("--model is required")
	}
	if a.clean == "" || a.corrupted == "" {
		return errors.New("give both --clean and --corrupted")
	}
	if a.answer == "" || a.wrong == "" {
		return errors.New("give both --answer and --wrong")
	}
	m, err := models.Load(a.model)
	if err != nil {
		return err
	}
	prompt := func(flag, s string) ([]int, tokenizer.Tokenizer, error) {
		tokens, text := "", s
		if a.tokensMode {
			tokens, text = s, ""
		}
		seqs, tok, err := promptTokens(m, a.model, tokens, text)
		if err == nil && len(seqs) != 1 {
			err = fmt.Errorf("give one prompt, not %d", len(seqs))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return seqs[0], tok, nil
	}
	clean, tok, err := prompt("clean", a.clean)
	if err != nil {
		return err
	}
	corrupted, _, err := prompt("corrupted", a.corrupted)
	if err != nil {
		return err
	}
	if len(clean) != len(corrupted) {
		return fmt.Errorf("the clean prompt has %d tokens and the corrupted one %d; patching needs equal lengths", len(clean), len(corrupted))
	}
	answer, err := answerToken(m, tok, "answer", a.answer, a.tokensMode)
	if err != nil {
		return err
	}
	wrong, err := answerToken(m, tok, "wrong", a.wrong, a.tokensMode)
	if err != nil {
		return err
	}
	var po circuits.PatchOptions
	if progress != nil {
		po.Progress = func(done, total int) {
			if done == total || done%16 == 0 {
				fmt.Fprintf(progress, "\rpatch: %d/%d forward passes", done, total)
			}
			if done == total {
				fmt.Fprintln(progress)
			}
		}
	}
	res, err := circuits.PatchAll(m, clean, corrupted, answer, wrong, po)
	if err != nil {
		return err
	}
	in := report.PatchInputFor(a.model, res, tok)
	if err := report.WritePage(a.out, func() (*viz.Report, error) { return report.Patch(in) }); err != nil {
		return err
	}
	if a.json {
		return printJSON(w, map[string]any{"activation": res.Activation, "attribution": res.Attribution, "dla": res.DLA, "report": a.out})
	}
	report.PatchText(w, in, a.top, a.out)
	return nil
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
