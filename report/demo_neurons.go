package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/models/tokenizer"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/train"
)

// Directories of a neurons demo.
const (
	NeuronsDemoTokenizer = "tokenizer"
	NeuronsDemoRun       = "run"
	NeuronsDemoSAE       = "sae"
	NeuronsDemoReport    = "report"
)

// NeuronsDemoOptions size the demo; zero fields take the defaults.
type NeuronsDemoOptions struct {
	Vocab       int // BPE vocabulary (default 4096)
	Steps       int // model training steps (default 1200)
	SAESteps    int // SAE training steps (default 1500)
	SAEWidth    int // d_sae (default 2048)
	K           int // TopK's k (default 32)
	Contexts    int // contexts the dashboards read (default 256)
	Progress    io.Writer
	MaxTokBytes int64 // corpus bytes the tokenizer reads (0: all)
}

// NeuronsDemoResult holds the demo's measured numbers.
type NeuronsDemoResult struct {
	Dir           string
	Metrics       *sae.Metrics
	Concentration Concentration
}

// NeuronsDemo runs `mechinterp demo neurons` in out: it trains a BPE on the
// Go corpus, a one-layer transformer with an MLP on it
// (run.NeuronsDemoConfig), a TopK SAE on blocks.0.mlp.hook_post, measures
// the SAE (sae.Evaluate), and writes the neuron and feature dashboards and
// the neurons-vs-features page under out/report. Steps already done (a
// tokenizer, a finished run, a saved SAE) are reused, so running it again
// continues an interrupted demo.
func NeuronsDemo(ctx context.Context, out string, w io.Writer, o NeuronsDemoOptions) (*NeuronsDemoResult, error) {
	if o.Vocab < 0 || o.Steps < 0 || o.SAESteps < 0 || o.SAEWidth < 0 || o.K < 0 || o.Contexts < 0 ||
		o.Vocab > 1<<20 || o.Steps > train.MaxSteps || o.SAESteps > sae.MaxSteps || o.SAEWidth > sae.MaxDictSize || o.Contexts > 1<<14 {
		return nil, fmt.Errorf("demo neurons: vocab %d, steps %d, sae steps %d, width %d, k %d, contexts %d: each must be 0 (the default) or positive, within bounds (steps %d, sae steps %d, width %d, contexts %d)",
			o.Vocab, o.Steps, o.SAESteps, o.SAEWidth, o.K, o.Contexts, train.MaxSteps, sae.MaxSteps, sae.MaxDictSize, 1<<14)
	}
	if o.Vocab == 0 {
		o.Vocab = 4096
	}
	if o.Steps == 0 {
		o.Steps = 1200
	}
	if o.SAESteps == 0 {
		o.SAESteps = 1500
	}
	if o.SAEWidth == 0 {
		o.SAEWidth = 2048
	}
	if o.K == 0 {
		o.K = 32
	}
	if o.Contexts == 0 {
		o.Contexts = 256
	}
	tokDir := filepath.Join(out, NeuronsDemoTokenizer)
	if !tokenizer.HasBPE(tokDir) {
		fmt.Fprintf(w, "training a %d-token BPE on the Go corpus ...\n", o.Vocab)
		tr, st, err := data.TrainTokenizer(ctx, data.Config{Kind: data.KindGoroot}, o.Vocab, o.MaxTokBytes)
		if err != nil {
			return nil, err
		}
		if _, err := tr.Save(tokDir); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "  %d files, %.1f MB -> %s\n", st.Files, float64(st.Bytes)/(1<<20), tokDir)
	}
	abs, err := filepath.Abs(tokDir)
	if err != nil {
		return nil, err
	}
	rc := run.NeuronsDemoConfig(abs, o.Steps)
	runDir := filepath.Join(out, NeuronsDemoRun)
	fmt.Fprintf(w, "training a 1-layer transformer (d_model %d, %d MLP neurons) on the Go corpus, %d steps ...\n", rc.Model.DModel, rc.Model.DMLP, o.Steps)
	if _, err := run.Start(ctx, runDir, rc, run.Options{Resume: true, Progress: o.Progress}); err != nil {
		return nil, err
	}
	r, err := run.Open(runDir)
	if err != nil {
		return nil, err
	}
	cp, ok := r.Latest()
	if !ok {
		return nil, errors.New("demo neurons: the run wrote no checkpoint")
	}
	model := cp.Dir
	hook := models.ActName("mlp_post", 0)
	saeDir := filepath.Join(out, NeuronsDemoSAE)
	if _, err := os.Stat(filepath.Join(saeDir, sae.CfgFile)); err != nil {
		fmt.Fprintf(w, "training a TopK SAE (k %d, %d features) on %s, %d steps ...\n", o.K, o.SAEWidth, hook, o.SAESteps)
		j := sae.Job{Model: model, Data: []string{data.KindGoroot}, Out: saeDir,
			Store: sae.StoreConfig{Hook: hook, Normalize: true, Seed: 1},
			SAE:   sae.Config{Architecture: sae.TopK, K: o.K, DictSize: o.SAEWidth, Steps: o.SAESteps, Seed: 1}}
		if _, err := j.Train(ctx, o.Progress); err != nil {
			return nil, err
		}
	}
	res := &NeuronsDemoResult{Dir: out}
	if res.Metrics, err = sae.EvalJob(ctx, model, saeDir, []string{data.KindGoroot}, 16, 2); err != nil {
		return nil, err
	}
	m := res.Metrics
	fmt.Fprintf(w, "SAE: l0 %.2f, explained_variance %.3f, ce_loss_score %.3f, kl %.4f, dead %d of %d (over %d tokens)\n",
		m.L0, m.ExplainedVariance, m.CELossScore, m.KL, m.Dead, len(m.Density), m.Tokens)
	features, err := sae.DashboardJob(ctx, model, saeDir, "", []string{data.KindGoroot}, o.Contexts, 3)
	if err != nil {
		return nil, err
	}
	neurons, err := sae.DashboardJob(ctx, model, "", hook, []string{data.KindGoroot}, o.Contexts, 3)
	if err != nil {
		return nil, err
	}
	rep := filepath.Join(out, NeuronsDemoReport)
	summary := fmt.Sprintf("A 1-layer transformer (d_model %d, %d MLP neurons) trained %d steps on the Go distribution's sources and docs with a %d-token BPE; "+
		"a TopK SAE (k %d, %d features) trained %d steps on %s. On %d held-out tokens the SAE has l0 %.2f, explained variance %.3f, CE loss score %.3f "+
		"(loss clean %.3f, with the SAE %.3f, MLP zeroed %.3f), KL %.4f, and %d dead features.",
		rc.Model.DModel, rc.Model.DMLP, o.Steps, o.Vocab, o.K, o.SAEWidth, o.SAESteps, hook, m.Tokens, m.L0, m.ExplainedVariance, float64(m.CELossScore),
		m.CEClean, m.CEWithSAE, m.CEZeroAblation, m.KL, m.Dead)
	if res.Concentration, err = WriteSAEReport(rep, neurons, features, "Neurons and SAE features of a 1-layer model of Go", summary); err != nil {
		return nil, err
	}
	c := res.Concentration
	fmt.Fprintf(w, "top-%d entropy: neurons median %.2f bits, features median %.2f bits\npages: %s\n", c.K, float64(c.MedianNeuron), float64(c.MedianFeat), filepath.Join(rep, IndexPage))
	return res, nil
}
