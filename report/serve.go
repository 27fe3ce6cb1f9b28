package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz/attention"
)

// ExplorerOptions configure ServeExplorer: what `mechinterp serve` serves.
type ExplorerOptions struct {
	// Model is one checkpoint directory, or Run a training run whose checkpoints the page
	// steps through (one of the two).
	Model, Run string
	// Addr is the address to listen on (port 0: any free port).
	Addr string
	// Tokens or Text is the prompt shown at start, as token ids or as text (not both); with
	// neither the page starts on a random sequence repeated twice (RepeatedPrompt), where
	// induction heads show.
	Tokens, Text string
	// MaxTokens and MaxPromptBytes limit a prompt; Bits is each weight's precision
	// (attention.ServerOptions).
	MaxTokens, MaxPromptBytes, Bits int
	// Roles labels each head with its role and scores (AttentionRoles, once per checkpoint).
	Roles bool
	// Tokenize reads a prompt for a model (attention.Models.Tokenize).
	Tokenize func(m *models.Model, dir, prompt string, ids bool) ([]int, tokenizer.Tokenizer, error)
	// Started, if set, receives the URL once the server listens.
	Started func(url string)
	// Dashboards serves the neuron dashboards of the (last) checkpoint
	// under /dashboards/, and with SAE (an SAE directory) its feature
	// dashboard, over DashboardContexts contexts (0: 256) of the corpus
	// DashboardData (default goroot), read once at start
	// (DashboardHandler). An SAE implies Dashboards.
	Dashboards        bool
	SAE               string
	DashboardData     []string
	DashboardContexts int
}

// ServeExplorer serves the attention explorer of o until ctx ends, printing where it serves
// and "stopped" on w and warnings on errw. The last checkpoint and the start prompt are read
// before it listens, so that a bad directory or prompt is an error here and not in the page.
func ServeExplorer(ctx context.Context, w, errw io.Writer, o ExplorerOptions) error {
	sm := &attention.Models{MaxTokens: o.MaxTokens, Tokenize: o.Tokenize,
		Warn: func(format string, args ...any) { fmt.Fprintf(errw, "mechinterp serve: "+format+"\n", args...) }}
	var cps []attention.Checkpoint
	if o.Run == "" {
		sm.Dirs = []string{o.Model}
	} else {
		list, err := train.Checkpoints(o.Run)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			if _, err := os.Stat(o.Run); err != nil {
				return fmt.Errorf("--run: %w", err)
			}
			return fmt.Errorf("--run %s: no checkpoints in %s/%s (is it a run directory of mechinterp train?)", o.Run, o.Run, train.CheckpointsDir)
		}
		for _, c := range list {
			sm.Dirs = append(sm.Dirs, c.Dir)
			sm.Steps = append(sm.Steps, c.Step)
			cps = append(cps, attention.Checkpoint{Step: c.Step})
		}
	}
	last := len(sm.Dirs) - 1
	if o.Roles {
		// Every checkpoint is of one run, scored on that run's prompts as the heads page does.
		ckpt := sm.Dirs[last]
		sm.Heads = func(m *models.Model) ([][]attention.HeadInfo, error) { return AttentionRoles(m, ckpt) }
	}
	m, err := sm.Model(last)
	if err != nil {
		return err
	}
	// Whether the model takes text: its tokenizer, if any, reads one.
	_, _, textErr := o.Tokenize(m, sm.Dirs[last], "a", false)
	prompt, tokensMode := o.Text, false
	switch {
	case o.Text != "" && o.Tokens != "":
		return errors.New("give --tokens or --text, not both")
	case o.Tokens != "":
		prompt, tokensMode = o.Tokens, true
	case o.Text == "":
		prompt, tokensMode = RepeatedPrompt(m.Config), true
	}
	if _, _, err := o.Tokenize(m, sm.Dirs[last], prompt, tokensMode); err != nil {
		return err
	}
	title := "Attention explorer: " + attention.ModelTitle(sm.Dirs[last])
	if o.Run != "" {
		title = "Attention explorer: run " + o.Run
	}
	var routes map[string]http.Handler
	if o.Dashboards || o.SAE != "" {
		fmt.Fprintf(w, "reading the dashboards' corpus ...\n")
		set, err := sae.OpenDashboards(sm.Dirs[last], o.SAE, o.DashboardData, o.DashboardContexts, 3)
		if err != nil {
			return err
		}
		h := NewDashboardHandler(set, 0)
		routes = map[string]http.Handler{DashboardsPath: h, DashboardsAPIPath: h}
	}
	srv, err := attention.NewServer(sm.Attention, attention.ServerOptions{
		Title: title, Checkpoints: cps, Prompt: prompt, TokensMode: tokensMode, NoText: textErr != nil,
		MaxPromptBytes: o.MaxPromptBytes, Bits: o.Bits, Routes: routes,
	})
	if err != nil {
		return err
	}
	if !attention.IsLoopback(o.Addr) {
		fmt.Fprintf(errw, "mechinterp serve: warning: %s is not a loopback address; other machines can reach this server, which has no authentication\n", o.Addr)
	}
	err = attention.ListenAndServe(ctx, o.Addr, srv, func(url string) {
		what := o.Model
		if o.Run != "" {
			what = fmt.Sprintf("%s (%d checkpoints)", o.Run, len(cps))
		}
		fmt.Fprintf(w, "serving the attention explorer of %s at %s (Ctrl-C stops)\n", what, url)
		if routes != nil {
			fmt.Fprintf(w, "dashboards at %s\n", strings.TrimSuffix(url, "/")+DashboardsPath)
		}
		if o.Started != nil {
			o.Started(url)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "stopped")
	return nil
}

// RepeatedPrompt is the explorer's start prompt when none is given, as token ids: random
// tokens r, then r again (the r + r of Olsson et al. 2022's prefix matching), on which
// induction heads attend from each repeated token to the token after its first occurrence.
// |r| = min(20, n_ctx/2), tokens uniform over the vocabulary with a fixed seed.
func RepeatedPrompt(c models.Config) string {
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
