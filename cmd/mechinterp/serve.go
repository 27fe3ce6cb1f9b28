package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/report"
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
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			return runServe(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), serveArgs{
				model: v.GetString("model"), run: v.GetString("run"), addr: v.GetString("addr"),
				tokens: v.GetString("tokens"), text: v.GetString("text"), maxTokens: v.GetInt("max-tokens"),
				maxPrompt: v.GetInt("max-prompt-bytes"), bits: v.GetInt("bits"), roles: v.GetBool("roles"),
				dashboards: v.GetBool("dashboards"), sae: v.GetString("sae"), data: v.GetStringSlice("data"), contexts: v.GetInt("contexts"),
			}, nil)
		}),
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
	f.Bool("dashboards", false, "also serve the MLP neuron dashboards at /dashboards/")
	f.String("sae", "", "also serve the feature dashboard of this SAE directory (implies --dashboards)")
	f.StringSlice("data", nil, `dashboards' corpus: "goroot" (default), or text files and directories`)
	f.Int("contexts", 256, "contexts of n_ctx tokens the dashboards read")
	addFlagFile(cmd)
	return cmd
}

type serveArgs struct {
	model, run, addr, tokens, text string
	maxTokens, maxPrompt, bits     int
	roles, dashboards              bool
	sae                            string
	data                           []string
	contexts                       int
}

// runServe serves the explorer until ctx ends. started, if set, receives the URL (for tests).
func runServe(ctx context.Context, w, errw io.Writer, a serveArgs, started func(string)) error {
	if (a.model == "") == (a.run == "") {
		return errors.New("give --model DIR or --run RUN_DIR (one of them)")
	}
	if a.maxTokens <= 0 {
		return fmt.Errorf("--max-tokens must be positive, got %d", a.maxTokens)
	}
	return report.ServeExplorer(ctx, w, errw, report.ExplorerOptions{Model: a.model, Run: a.run, Addr: a.addr,
		Tokens: a.tokens, Text: a.text, MaxTokens: a.maxTokens, MaxPromptBytes: a.maxPrompt, Bits: a.bits, Roles: a.roles,
		Tokenize: tokenizePrompt, Started: started,
		Dashboards: a.dashboards, SAE: a.sae, DashboardData: a.data, DashboardContexts: a.contexts})
}

// tokenizePrompt reads one prompt of the explorer (text, or ids when ids is set) for m.
// Its errors are shown in the page, so they name no command-line flag (readPrompt).
func tokenizePrompt(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error) {
	seqs, tok, err := readPrompt(m, dir, prompt, ids)
	if err != nil {
		return nil, nil, err
	}
	return seqs[0], tok, nil
}
