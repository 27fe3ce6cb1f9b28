package report

import (
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// ForwardJob is `mechinterp run`: one forward pass, the top next-token predictions after
// the last position, and optionally the logits and cached activations as safetensors.
type ForwardJob struct {
	PromptFlags `mapstructure:",squash"`
	Top         int    `mapstructure:"top" default:"10" help:"how many predictions to print"`
	Logits      string `mapstructure:"logits" help:"write the logits [batch,pos,vocab] to this safetensors file"`
	Cache       string `mapstructure:"cache" help:"write the activations selected by --names to this safetensors file"`
	Names       string `mapstructure:"names" default:"*" help:"hook-point filter for --cache: names and globs, comma-separated"`
	JSON        bool   `mapstructure:"json" help:"print the predictions as JSON"`
	Process     string `mapstructure:"process" help:"weight processing before the pass: fold_ln,center_writing,center_unembed,fold_value_biases or all"`
}

// Run runs the pass and prints the predictions to w.
func (j ForwardJob) Run(w io.Writer) error {
	if j.Model == "" {
		return fmt.Errorf("--model is required")
	}
	proc, err := models.ParseProcessOptions(j.Process)
	if err != nil {
		return fmt.Errorf("--process: %w", err)
	}
	m, err := models.LoadProcessed(j.Model, proc)
	if err != nil {
		return err
	}
	seqs, tok, err := PromptTokens(m, j.Model, j.Tokens, j.Text)
	if err != nil {
		return err
	}
	B, T := len(seqs), len(seqs[0])
	flat := make([]int, 0, B*T)
	for _, s := range seqs {
		flat = append(flat, s...)
	}
	var spec hooks.Spec
	if j.Cache != "" {
		if spec.Cache, err = hooks.NewFilter(j.Names); err != nil {
			return err
		}
		if err := spec.Cache.Check(m.Config); err != nil {
			return err
		}
	}
	pass, cache, err := hooks.Run(m, flat, B, T, spec)
	if err != nil {
		return err
	}
	if j.Logits != "" {
		if err := safetensors.Write(j.Logits, map[string]*tensor.Tensor{"logits": pass.Logits}, nil); err != nil {
			return err
		}
	}
	if j.Cache != "" {
		if err := safetensors.Write(j.Cache, cache.Map(), nil); err != nil {
			return err
		}
	}
	V := m.Config.DVocab
	results := make([][]models.Prediction, B)
	for b := range B {
		row := pass.Logits.Data[(b*T+T-1)*V : (b*T+T)*V]
		results[b] = models.TopPredictions(row, j.Top, tok)
	}
	if j.JSON {
		return PrintJSON(w, map[string]any{"tokens": seqs, "predictions": results})
	}
	PredictionsText(w, results, T, tok != nil)
	return nil
}

// SampleFlags are how a command samples from a model (models.SampleOptions).
type SampleFlags struct {
	Temperature float64 `mapstructure:"temperature" default:"1" help:"sampling temperature (negative: greedy)"`
	TopK        int     `mapstructure:"top-k" help:"keep the k most likely tokens (0: all)"`
	TopP        float64 `mapstructure:"top-p" help:"nucleus sampling threshold (0: off)"`
	Seed        uint64  `mapstructure:"seed" default:"1" help:"sampling seed"`
}

func (f SampleFlags) options() models.SampleOptions {
	return models.SampleOptions{Temperature: f.Temperature, TopK: f.TopK, TopP: f.TopP, Seed: f.Seed}
}

// GenerateJob is `mechinterp generate`: sampled continuations of a prompt.
type GenerateJob struct {
	PromptFlags `mapstructure:",squash"`
	New         int `mapstructure:"new" default:"20" help:"tokens to generate"`
	Samples     int `mapstructure:"samples" default:"1" help:"continuations per prompt"`
	SampleFlags `mapstructure:",squash"`
	JSON        bool `mapstructure:"json" help:"print the token ids as JSON"`
}

// Run samples and prints each continuation to w (decoded and quoted when the model has a
// tokenizer); warnings go to errw.
func (j GenerateJob) Run(w, errw io.Writer) error {
	m, seqs, tok, err := j.load(errw)
	if err != nil {
		return err
	}
	if j.Samples < 1 {
		return fmt.Errorf("--samples %d: want at least 1", j.Samples)
	}
	if err := m.Config.CheckForward(j.Samples, len(seqs[0])+j.New); err != nil {
		return fmt.Errorf("--samples %d: %w", j.Samples, err)
	}
	var prompts [][]int
	for range j.Samples {
		prompts = append(prompts, seqs...)
	}
	out, err := models.Generate(m, prompts, j.New, j.options())
	if err != nil {
		return err
	}
	if j.JSON {
		return PrintJSON(w, out)
	}
	for _, s := range out {
		if tok != nil {
			fmt.Fprintf(w, "%q\n", tok.Decode(s))
		} else {
			fmt.Fprintln(w, s)
		}
	}
	return nil
}
