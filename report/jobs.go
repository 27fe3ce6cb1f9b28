package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
	"github.com/mechinterp/mechinterp/viz"
)

// The *Job types below are the commands of mechinterp as Go calls: a job's fields are its
// command's flags (the tags document them: mapstructure is the flag's name and YAML key,
// help its usage line, default its default), and its Run method does what the command
// does: load, compute, write the page, print the readout (or JSON) to w. The CLI binds
// the fields to flags and calls Run; a Go program fills them and calls Run the same way.

// ModelFlag is --model, the checkpoint directory a command reads.
type ModelFlag struct {
	Model string `mapstructure:"model" help:"checkpoint directory (config.json + model.safetensors)"`
}

// loadModel loads the checkpoint directory of --model, warning on warn when its weights
// hold NaN or infinite values.
func (f ModelFlag) loadModel(warn io.Writer) (*models.Model, error) {
	if f.Model == "" {
		return nil, errors.New("--model is required")
	}
	m, err := models.Load(f.Model)
	if err != nil {
		return nil, run.ModelDirError(f.Model, err)
	}
	if name, n := m.Params.NonFinite(); n > 0 && warn != nil {
		fmt.Fprintf(warn, "mechinterp: warning: %s holds %d NaN or infinite weights (the first in %s); its outputs will be NaN\n", f.Model, n, name)
	}
	return m, nil
}

// PromptFlags are --model and a prompt for it, as --tokens or --text (PromptTokens).
type PromptFlags struct {
	ModelFlag `mapstructure:",squash"`
	Tokens    string `mapstructure:"tokens" help:"the prompt as token ids, comma-separated; sequences of one length separated by ';'"`
	Text      string `mapstructure:"text" help:"the prompt as text, encoded with the model directory's tokenizer (GPT-2 BPE, else byte-level)"`
}

// load loads the model (loadModel) and reads the prompt for it (PromptTokens).
func (f PromptFlags) load(warn io.Writer) (*models.Model, [][]int, tokenizer.Tokenizer, error) {
	m, err := f.loadModel(warn)
	if err != nil {
		return nil, nil, nil, err
	}
	seqs, tok, err := PromptTokens(m, f.Model, f.Tokens, f.Text)
	return m, seqs, tok, err
}

// PrintJSON prints v as indented JSON, as every --json does.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// PageFlags are -o/--out, the page a command writes, and --json. A job embedding them says
// --out's default beside them: `mapstructure:",squash" default:"out=heads.html"`.
type PageFlags struct {
	Out  string `mapstructure:"out" short:"o" help:"HTML report to write (\"\" for none)"`
	JSON bool   `mapstructure:"json" help:"print the result as JSON instead of the readout"`
}

// show writes the page build makes to Out, then prints data as JSON with --json, else the
// readout text writes (show).
func (f PageFlags) show(w io.Writer, build func() (*viz.Report, error), data any, text func(io.Writer)) error {
	return show(w, f.Out, build, f.JSON, data, text)
}

// show writes the page build makes to out (WritePage: nothing when out is ""), then
// prints data as JSON when asJSON is set, else the readout text writes.
func show(w io.Writer, out string, build func() (*viz.Report, error), asJSON bool, data any, text func(io.Writer)) error {
	if err := WritePage(out, build); err != nil {
		return err
	}
	if asJSON {
		return PrintJSON(w, data)
	}
	text(w)
	return nil
}

// Progress returns w for progress bars and lines when it is a terminal and quiet is not
// set, else nil: logs get no redrawn lines.
func Progress(w io.Writer, quiet bool) io.Writer {
	if quiet || w == nil || !train.IsTerminal(w) {
		return nil
	}
	return w
}
