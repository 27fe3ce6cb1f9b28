package report

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/viz"
)

// LensJob is `mechinterp lens`: the logit lens or a tuned lens on one prompt
// (circuits.ApplyLens), a page and a table.
type LensJob struct {
	PromptFlags `mapstructure:",squash"`
	Tuned       string `mapstructure:"tuned" help:"a tuned lens directory (from 'mechinterp lens train'); default the logit lens"`
	Answer      string `mapstructure:"answer" help:"the token expected after the prompt (text, or an id with --tokens)"`
	Top         int    `mapstructure:"top" default:"5" help:"top tokens kept per layer and position"`
	PageFlags   `mapstructure:",squash"`
}

// Run reads the prompt through the lens, writes the page and prints the readout (or JSON)
// to w.
func (j LensJob) Run(w, errw io.Writer) error {
	m, seqs, tok, err := j.load(errw)
	if err != nil {
		return err
	}
	if len(seqs) != 1 {
		return fmt.Errorf("give one prompt, not %d", len(seqs))
	}
	o := circuits.LensOptions{TopK: j.Top, Answer: -1}
	if j.Answer != "" {
		if o.Answer, err = answerToken(m, tok, "answer", j.Answer, j.Tokens != ""); err != nil {
			return err
		}
	}
	if j.Tuned != "" {
		if o.Tuned, err = circuits.LoadTunedLens(j.Tuned); err != nil {
			return err
		}
	}
	lens, err := circuits.ApplyLens(m, seqs[0], o)
	if err != nil {
		return err
	}
	label := TokenLabel(tok)
	return j.show(w, func() (*viz.Report, error) { return LensPage(lens, label) }, lens,
		func(w io.Writer) { LensText(w, lens, label, j.Out) })
}

// TunedLensJob is `mechinterp lens train`: a tuned lens trained on a run's token source
// or a text file (circuits.TuneLens), saved, and compared with the logit lens.
type TunedLensJob struct {
	ModelFlag `mapstructure:",squash"`
	RunDir    string  `mapstructure:"run" help:"a training run directory whose token source (run.yaml) gives the sequences"`
	TextFile  string  `mapstructure:"text-file" help:"a text file, cut into windows of --len tokens"`
	Out       string  `mapstructure:"out" short:"o" help:"directory to write the tuned lens to"`
	Len       int     `mapstructure:"len" help:"tokens per sequence (0: the model's context)"`
	Sequences int     `mapstructure:"sequences" default:"512" help:"training sequences drawn from --run"`
	HeldOut   int     `mapstructure:"held-out" default:"64" help:"held-out sequences drawn from --run"`
	Steps     int     `mapstructure:"steps" default:"300" help:"training steps of 8 sequences"`
	LR        float64 `mapstructure:"lr" default:"1e-3" help:"AdamW learning rate"`
	Seed      uint64  `mapstructure:"seed" default:"1" help:"seed of the batch order"`
	JSON      bool    `mapstructure:"json" help:"print the KL by layer as JSON"`
}

// Run trains and saves the lens and prints the mean KL by layer of both lenses (or JSON)
// to w.
func (j TunedLensJob) Run(w, errw io.Writer) error {
	m, err := j.loadModel(errw)
	if err != nil {
		return err
	}
	if j.Out == "" {
		return errors.New("--out (the lens directory) is required")
	}
	T := j.Len
	if T <= 0 || T > m.Config.NCtx {
		T = m.Config.NCtx
	}
	var trainSeqs, heldOut [][]int
	switch {
	case j.RunDir != "" && j.TextFile != "":
		return errors.New("give --run or --text-file, not both")
	case j.RunDir != "":
		if trainSeqs, err = circuits.LensSequences(j.RunDir, j.Sequences, T, false); err == nil {
			heldOut, err = circuits.LensSequences(j.RunDir, j.HeldOut, T, true)
		}
	case j.TextFile != "":
		var text []byte
		var tok tokenizer.Tokenizer
		if text, err = os.ReadFile(j.TextFile); err == nil {
			if tok, err = TokenizerOf(m, j.Model); err == nil {
				trainSeqs, heldOut, err = circuits.TextSequences(tok.Encode(string(text)), T, 0.1)
			}
		}
	default:
		return errors.New("give the training sequences with --run or --text-file")
	}
	if err != nil {
		return err
	}
	lens, cmp, err := circuits.TuneLens(m, trainSeqs, heldOut, circuits.TunedLensOptions{Steps: j.Steps, LR: j.LR, Seed: j.Seed})
	if err != nil {
		return err
	}
	if err := lens.Save(j.Out); err != nil {
		return err
	}
	if j.JSON {
		return PrintJSON(w, cmp)
	}
	fmt.Fprintf(w, "tuned lens saved to %s; mean KL to the final distribution on %d held-out sequences:\n", j.Out, cmp.HeldOut)
	fmt.Fprintf(w, "%-8s %10s %10s\n", "layer", "logit lens", "tuned lens")
	for i, name := range cmp.Layers {
		fmt.Fprintf(w, "%-8s %10.4f %10.4f\n", name, cmp.LogitKL[i], cmp.TunedKL[i])
	}
	return nil
}

// PatchJob is `mechinterp patch`: activation and attribution patching and direct logit
// attribution of a clean/corrupted prompt pair (circuits.PatchAll), a page and a table.
type PatchJob struct {
	ModelFlag  `mapstructure:",squash"`
	Clean      string `mapstructure:"clean" help:"the clean prompt (text, or token ids with --tokens-mode)"`
	Corrupted  string `mapstructure:"corrupted" help:"the corrupted prompt, as long as the clean one"`
	Answer     string `mapstructure:"answer" help:"the token the clean prompt should predict (single-token text, or an id with --tokens-mode)"`
	Wrong      string `mapstructure:"wrong" help:"the token the corrupted prompt should predict"`
	TokensMode bool   `mapstructure:"tokens-mode" help:"prompts and answers are token ids"`
	PageFlags  `mapstructure:",squash" default:"out=patch.html"`
	Top        int `mapstructure:"top" default:"8" help:"how many components to print"`
}

// Run patches, writes the page and prints the readout (or JSON) to w; errw, when it is a
// terminal (Progress), gets a line counting the forward passes (one per patched cell;
// thousands for a GPT-2-sized model), redrawn in place.
func (j PatchJob) Run(w, errw io.Writer) error {
	switch {
	case j.Model == "":
		return errors.New("--model is required")
	case j.Clean == "" || j.Corrupted == "":
		return errors.New("give both --clean and --corrupted")
	case j.Answer == "" || j.Wrong == "":
		return errors.New("give both --answer and --wrong")
	}
	m, err := models.Load(j.Model)
	if err != nil {
		return err
	}
	prompt := func(flag, text string) ([]int, tokenizer.Tokenizer, error) {
		seqs, tok, err := ReadPrompt(m, j.Model, text, j.TokensMode)
		if err == nil && len(seqs) != 1 {
			err = fmt.Errorf("give one prompt, not %d", len(seqs))
		}
		if err != nil && !j.TokensMode {
			return nil, nil, fmt.Errorf("--%s: %w (--tokens-mode takes ids)", flag, err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return seqs[0], tok, nil
	}
	clean, tok, err := prompt("clean", j.Clean)
	if err != nil {
		return err
	}
	corrupted, _, err := prompt("corrupted", j.Corrupted)
	if err != nil {
		return err
	}
	if len(clean) != len(corrupted) {
		return fmt.Errorf("the clean prompt has %d tokens and the corrupted one %d; patching needs equal lengths", len(clean), len(corrupted))
	}
	answer, err := answerToken(m, tok, "answer", j.Answer, j.TokensMode)
	if err != nil {
		return err
	}
	wrong, err := answerToken(m, tok, "wrong", j.Wrong, j.TokensMode)
	if err != nil {
		return err
	}
	var po circuits.PatchOptions
	if progress := Progress(errw, false); progress != nil {
		po.Progress = PatchProgress(progress)
	}
	res, err := circuits.PatchAll(m, clean, corrupted, answer, wrong, po)
	if err != nil {
		return err
	}
	in := PatchInputFor(j.Model, res, tok)
	return show(w, j.Out, func() (*viz.Report, error) { return Patch(in) }, j.JSON,
		map[string]any{"activation": res.Activation, "attribution": res.Attribution, "dla": res.DLA, "report": j.Out},
		func(w io.Writer) { PatchText(w, in, j.Top, j.Out) })
}

// EAPJob is `mechinterp eap`: a circuit found by edge attribution patching and checked by
// patching (circuits.Discover), a page and a table.
type EAPJob struct {
	ModelFlag `mapstructure:",squash"`
	Task      string `mapstructure:"task" help:"a built-in task: induction"`
	Tasks     string `mapstructure:"tasks" help:"JSON-lines file of clean/corrupted/answer/wrong records"`
	Pairs     int    `mapstructure:"pairs" default:"32" help:"pairs of the built-in task"`
	Len       int    `mapstructure:"len" default:"10" help:"the induction task's repeated span (prompts of 2·len tokens with BOS)"`
	Seed      uint64 `mapstructure:"seed" default:"1" help:"seed of the built-in task's prompts"`
	Metric    string `mapstructure:"metric" default:"logit_diff" help:"logit_diff, prob, kl or loss, at each pair's last position"`
	Method    string `mapstructure:"method" default:"eap-ig" help:"eap or eap-ig"`
	Steps     int    `mapstructure:"steps" default:"5" help:"EAP-IG's interpolation steps"`
	Batch     int    `mapstructure:"batch" default:"8" help:"pairs per forward pass"`
	Edges     int    `mapstructure:"edges" help:"circuit size before pruning (0: 10% of the edges)"`
	Greedy    bool   `mapstructure:"greedy" help:"grow the circuit from the logits instead of taking the top edges"`
	Effects   bool   `mapstructure:"effects" help:"patch each edge alone and correlate EAP and EAP-IG with it (one pass per edge)"`
	Top       int    `mapstructure:"top" default:"15" help:"how many edges to print"`
	PageFlags `mapstructure:",squash"`
}

// Run discovers and checks the circuit, writes the page and prints the readout (or JSON)
// to w.
func (j EAPJob) Run(w, errw io.Writer) error {
	if j.Top < 0 {
		return fmt.Errorf("--top must be at least 0, got %d", j.Top)
	}
	m, err := j.loadModel(errw)
	if err != nil {
		return err
	}
	pairs, err := j.pairs(m)
	if err != nil {
		return err
	}
	metric, err := circuits.ParseMetric(j.Metric)
	if err != nil {
		return err
	}
	method, err := circuits.ParseMethod(j.Method)
	if err != nil {
		return err
	}
	d, err := circuits.Discover(m, pairs, circuits.DiscoverOptions{
		AttributionOptions: circuits.AttributionOptions{Metric: metric, Method: method, Steps: j.Steps, BatchSize: j.Batch},
		Size:               j.Edges, Greedy: j.Greedy, Effects: j.Effects,
	})
	if err != nil {
		return err
	}
	return j.show(w, func() (*viz.Report, error) { return Discovery(d, j.Model) }, d,
		func(w io.Writer) { DiscoveryText(w, d, j.Top, j.Out) })
}

// pairs returns the prompt pairs of --task or --tasks.
func (j EAPJob) pairs(m *models.Model) ([]circuits.Pair, error) {
	switch {
	case j.Task != "" && j.Tasks != "":
		return nil, errors.New("give --task or --tasks, not both")
	case j.Task == "induction":
		return circuits.InductionTask{Pairs: j.Pairs, Len: j.Len, Seed: j.Seed}.Generate(m.Config.DVocab, m.Config.NCtx)
	case j.Task != "":
		return nil, fmt.Errorf("--task %q: the built-in task is induction", j.Task)
	case j.Tasks == "":
		return nil, errors.New("give --task induction or --tasks FILE")
	}
	f, err := os.Open(j.Tasks)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Without a tokenizer for the model, records must give token ids.
	tok, _ := TokenizerOf(m, j.Model)
	return circuits.ReadTasks(f, tok)
}
