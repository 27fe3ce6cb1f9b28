package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/viz"
)

// The flags that several commands share, so that each spells and documents them once.

// addModelFlag adds --model, the checkpoint directory a command reads.
func addModelFlag(cmd *cobra.Command) {
	cmd.Flags().String("model", "", "checkpoint directory (config.json + model.safetensors)")
}

// addTextFlags adds --tokens and --text, a prompt given as token ids or as text for the
// model's tokenizer (promptTokens reads them).
func addTextFlags(cmd *cobra.Command, tokens, text string) {
	cmd.Flags().String("tokens", "", tokens)
	cmd.Flags().String("text", "", text)
}

// addOutFlag adds -o/--out, the page a command writes ("" for none, when the usage says so).
func addOutFlag(cmd *cobra.Command, def, usage string) {
	cmd.Flags().StringP("out", "o", def, usage)
}

// addJSONFlag adds --json: print the numbers as JSON instead of a table.
func addJSONFlag(cmd *cobra.Command, what string) {
	cmd.Flags().Bool("json", false, "print the "+what+" as JSON")
}

// loadModel loads the checkpoint named by --model and returns it with its directory.
func loadModel(v *viper.Viper) (*models.Model, string, error) {
	dir := v.GetString("model")
	if dir == "" {
		return nil, "", errors.New("--model is required")
	}
	m, err := models.Load(dir)
	if err != nil {
		return nil, "", run.ModelDirError(dir, err)
	}
	if name, n := m.Params.NonFinite(); n > 0 {
		fmt.Fprintf(os.Stderr, "mechinterp: warning: %s holds %d NaN or infinite weights (the first in %s); its outputs will be NaN\n", dir, n, name)
	}
	return m, dir, nil
}

// printJSON prints v as indented JSON, as every --json does.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// humanBytes formats a file size for a line of output.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// withSettings is a RunE that resolves the command's settings (settings) and hands them to run.
func withSettings(run func(cmd *cobra.Command, args []string, v *viper.Viper) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		v, err := settings(cmd)
		if err != nil {
			return err
		}
		return run(cmd, args, v)
	}
}

// modelPrompt loads the checkpoint of --model (loadModel) and reads the prompt of --tokens or
// --text for it (promptTokens).
func modelPrompt(v *viper.Viper) (m *models.Model, dir string, seqs [][]int, tok tokenizer.Tokenizer, err error) {
	if m, dir, err = loadModel(v); err != nil {
		return nil, "", nil, nil, err
	}
	seqs, tok, err = promptTokens(m, dir, v.GetString("tokens"), v.GetString("text"))
	return m, dir, seqs, tok, err
}

// interruptible returns the command's context, ended by Ctrl-C or SIGTERM, so that long work
// stops cleanly (a checkpoint saved, no half-written file).
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

// jsonFlag reports whether --json is set, for commands that read their flags without settings.
func jsonFlag(cmd *cobra.Command) bool {
	j, _ := cmd.Flags().GetBool("json")
	return j
}

// show writes the page build makes to out (report.WritePage: nothing when out is ""), then
// prints data as JSON when asJSON is set (printJSON), else the readout text writes.
func show(w io.Writer, out string, build func() (*viz.Report, error), asJSON bool, data any, text func(io.Writer)) error {
	if err := report.WritePage(out, build); err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, data)
	}
	text(w)
	return nil
}
