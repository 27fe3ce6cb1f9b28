package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz/attention"
)

func init() { subcommands = append(subcommands, newServeCmd) }

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve (--model DIR | --run RUN_DIR) [--addr 127.0.0.1:8080]",
		Short: "Serve the attention explorer locally: type a prompt, step through a run's checkpoints",
		Long: `Serve the attention explorer as a local web app. Type a prompt and every
head's pattern updates; with --run, a slider steps through the run's
checkpoints (and "play" walks through them all) so you can watch heads
form. The server binds to loopback unless --addr says otherwise, limits
the size of requests and prompts, shows bad input as a message in the
page, and stops cleanly on Ctrl-C. Without --text or --tokens the page
starts on a random sequence repeated twice, where induction heads show.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), serveArgs{
				model: v.GetString("model"), run: v.GetString("run"), addr: v.GetString("addr"),
				tokens: v.GetString("tokens"), text: v.GetString("text"), maxTokens: v.GetInt("max-tokens"),
				maxPrompt: v.GetInt("max-prompt-bytes"), bits: v.GetInt("bits"), roles: v.GetBool("roles"),
			}, nil)
		},
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("run", "", "run directory: step through its checkpoints")
	f.String("addr", "127.0.0.1:8080", "address to listen on (port 0: any free port); a non-loopback host makes the server reachable from other machines")
	addTextFlags(cmd, "prompt shown at start, as token ids", "prompt shown at start, as text")
	f.Int("max-tokens", 512, "longest prompt in tokens (also limited by the model's n_ctx)")
	f.Int("max-prompt-bytes", attention.DefaultMaxPromptBytes, "longest prompt in bytes, refused before tokenizing")
	f.Int("bits", 0, "precision each weight is sent with: 8, 16, or 0 (16 up to 2^20 weights, else 8)")
	f.Bool("roles", true, "label each head with its role and scores (probes.Heads, once per checkpoint)")
	addFlagFile(cmd)
	return cmd
}

type serveArgs struct {
	model, run, addr, tokens, text string
	maxTokens, maxPrompt, bits     int
	roles                          bool
}

// runServe serves the explorer until ctx ends. started, if set, receives the URL (for tests).
func runServe(ctx context.Context, w, errw io.Writer, a serveArgs, started func(string)) error {
	if (a.model == "") == (a.run == "") {
		return errors.New("give --model DIR or --run RUN_DIR (one of them)")
	}
	if a.maxTokens <= 0 {
		return fmt.Errorf("--max-tokens must be positive, got %d", a.maxTokens)
	}
	sm := &attention.Models{MaxTokens: a.maxTokens, Tokenize: tokenizePrompt,
		Warn: func(format string, args ...any) { fmt.Fprintf(errw, "mechinterp serve: "+format+"\n", args...) }}
	if a.roles {
		sm.Heads = report.AttentionRoles
	}
	var cps []attention.Checkpoint
	if a.model != "" {
		sm.Dirs = []string{a.model}
	} else {
		list, err := train.Checkpoints(a.run)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			if _, err := os.Stat(a.run); err != nil {
				return fmt.Errorf("--run: %w", err)
			}
			return fmt.Errorf("--run %s: no checkpoints in %s/%s (is it a run directory of mechinterp train?)", a.run, a.run, train.CheckpointsDir)
		}
		for _, c := range list {
			sm.Dirs = append(sm.Dirs, c.Dir)
			sm.Steps = append(sm.Steps, c.Step)
			cps = append(cps, attention.Checkpoint{Step: c.Step})
		}
	}
	// The last checkpoint is loaded now, so a bad directory fails here and not in the page.
	last := len(sm.Dirs) - 1
	m, err := sm.Model(last)
	if err != nil {
		return err
	}
	// Whether the model takes text: promptTokens knows its tokenizer, if any.
	_, _, textErr := promptTokens(m, sm.Dirs[last], "", "a")
	prompt, tokensMode := a.text, false
	switch {
	case a.text != "" && a.tokens != "":
		return errors.New("give --tokens or --text, not both")
	case a.tokens != "":
		prompt, tokensMode = a.tokens, true
	case a.text == "":
		prompt, tokensMode = repeatedPrompt(m.Config), true
	}
	// The start prompt is checked now, so a typo is a command-line error.
	if _, _, err := tokenizePrompt(m, sm.Dirs[last], prompt, tokensMode); err != nil {
		return err
	}

	title := "Attention explorer: " + attention.ModelTitle(sm.Dirs[last])
	if a.run != "" {
		title = "Attention explorer: run " + a.run
	}
	srv, err := attention.NewServer(sm.Attention, attention.ServerOptions{
		Title: title, Checkpoints: cps, Prompt: prompt, TokensMode: tokensMode, NoText: textErr != nil,
		MaxPromptBytes: a.maxPrompt, Bits: a.bits,
	})
	if err != nil {
		return err
	}
	if !attention.IsLoopback(a.addr) {
		fmt.Fprintf(errw, "mechinterp serve: warning: %s is not a loopback address; other machines can reach this server, which has no authentication\n", a.addr)
	}
	err = attention.ListenAndServe(ctx, a.addr, srv, func(url string) {
		what := a.model
		if a.run != "" {
			what = fmt.Sprintf("%s (%d checkpoints)", a.run, len(cps))
		}
		fmt.Fprintf(w, "serving the attention explorer of %s at %s (Ctrl-C stops)\n", what, url)
		if started != nil {
			started(url)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "stopped")
	return nil
}

// tokenizePrompt reads one prompt of the explorer (text, or ids when ids is set) for m.
func tokenizePrompt(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error) {
	tokens, text := "", prompt
	if ids {
		tokens, text = prompt, ""
	}
	seqs, tok, err := promptTokens(m, dir, tokens, text)
	if err != nil {
		return nil, nil, err
	}
	return seqs[0], tok, nil
}

// repeatedPrompt is the start prompt when none is given: random tokens r, then r again (the
// r + r of Olsson et al. 2022's prefix matching), on which induction heads attend from each
// repeated token to the token after its first occurrence. |r| = min(20, n_ctx/2), tokens
// uniform over the vocabulary with a fixed seed.
func repeatedPrompt(c models.Config) string {
	n := min(20, c.NCtx/2)
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(rng.IntN(c.DVocab))
	}
	r := strings.Join(ids, ",")
	if n == 0 {
		return "0"
	}
	return r + "," + r
}
