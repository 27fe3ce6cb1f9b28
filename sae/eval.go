package sae

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/jsonx"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// EvalConfig configures [Evaluate].
type EvalConfig struct {
	// Hook is where the SAE reads and is spliced in.
	Hook string
	// Batches of Batch contexts of Context tokens are evaluated (defaults
	// 8, 8 and the model's n_ctx).
	Batches, Batch, Context int
	// BOS is the token whose positions are left out of the activation
	// metrics (-1: none). The spliced passes replace every position.
	BOS int
	// DenseThreshold is the firing density above which a feature counts
	// as dense (default 0.1).
	DenseThreshold float64
}

// Metrics are an SAE's scores on a model's activations, under SAELens's
// names (docs/REFERENCE.md, "Sparse autoencoders").
type Metrics struct {
	// Tokens is the number of activation rows measured.
	Tokens int `json:"tokens"`
	// L0 is the mean number of active features per token.
	L0 float64 `json:"l0"`
	// ExplainedVariance is 1 - Σ||x - x̂||² / Σ||x - mean(x)||², mean(x)
	// over the evaluated tokens: 0 for the predictor that outputs the
	// mean, 1 for a perfect reconstruction.
	ExplainedVariance float64 `json:"explained_variance"`
	// MSE is the mean over tokens and dimensions of (x - x̂)².
	MSE float64 `json:"mse"`
	// CELossScore is (CE_zero_ablation - CE_with_SAE) / (CE_zero_ablation
	// - CE_clean): 1 when splicing the SAE in costs nothing, 0 when it is
	// as bad as zeroing the hook.
	CELossScore    jsonx.Float `json:"ce_loss_score"`
	CEClean        float64     `json:"ce_clean"`
	CEWithSAE      float64     `json:"ce_with_sae"`
	CEZeroAblation float64     `json:"ce_zero_ablation"`
	// KL is the mean over positions of KL(clean || with SAE) of the
	// next-token distributions.
	KL float64 `json:"kl"`
	// Dead counts features that fired on none of the Tokens; Dense those
	// that fired on more than DenseThreshold of them.
	Dead           int     `json:"dead"`
	Dense          int     `json:"dense"`
	DenseThreshold float64 `json:"dense_threshold"`
	// Density is each feature's firing frequency over the tokens.
	Density []float64 `json:"density"`
}

// Evaluate measures s on m's activations at cfg.Hook over src: the
// reconstruction metrics on every non-BOS token, and the loss with the
// SAE's reconstruction spliced in at the hook (every position), against
// the clean loss and the loss with the hook zeroed.
func Evaluate(ctx context.Context, m *models.Model, s *SAE, src data.Source, cfg EvalConfig) (*Metrics, error) {
	if cfg.Batches == 0 {
		cfg.Batches = 8
	}
	if cfg.Batch == 0 {
		cfg.Batch = 8
	}
	if cfg.Context == 0 {
		cfg.Context = m.Config.NCtx
	}
	if cfg.DenseThreshold == 0 {
		cfg.DenseThreshold = 0.1
	}
	shape, err := models.HookShape(m.Config, cfg.Hook, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	if len(shape) != 3 || shape[2] != s.D {
		return nil, fmt.Errorf("sae: the SAE reads %d-dimensional activations; hook %s gives %s per token", s.D, cfg.Hook, tensor.ShapeString(shape[2:]))
	}
	if cfg.Context < 2 || cfg.Context > m.Config.NCtx {
		return nil, fmt.Errorf("sae: context %d (model n_ctx %d)", cfg.Context, m.Config.NCtx)
	}
	if cfg.Batches < 0 || cfg.Batches > 1<<12 || cfg.Batch < 0 || cfg.Batch > 1<<10 {
		return nil, fmt.Errorf("sae: eval: %d batches of %d contexts: want 1-%d batches of 1-%d", cfg.Batches, cfg.Batch, 1<<12, 1<<10)
	}
	enc, err := newEncoder(s)
	if err != nil {
		return nil, err
	}
	D, F := s.D, s.F
	T := cfg.Context
	b := data.NewBatch(cfg.Batch, T)
	res := &Metrics{DenseThreshold: cfg.DenseThreshold}
	fires := make([]int, F)
	sum := make([]float64, D)
	var sumSq, sse float64
	var l0 int
	var ceClean, ceSAE, ceZero, kl float64
	var klN int
	xhat := make([]float32, D)
	for bi := 0; bi < cfg.Batches; bi++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := src.Next(b); err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		in, tg := b.Inputs(), b.Targets()
		n := b.B * T
		clean, err := m.Forward(in, b.B, T, tg, &models.Options{NoGrad: true})
		if err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		logits := append([]float32(nil), clean.Logits.Data...)
		ceClean += float64(clean.Loss)
		clean.Release()
		splice := func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
			if name != cfg.Hook {
				return nil, nil
			}
			f := enc.encode(act.Data, n)
			for i := 0; i < n; i++ {
				x := act.Data[i*D : (i+1)*D]
				fi := f[i*F : (i+1)*F]
				enc.decode(fi, xhat)
				if in[i] != cfg.BOS {
					res.Tokens++
					for k, v := range fi {
						if v != 0 {
							fires[k]++
							l0++
						}
					}
					for j, v := range x {
						e := float64(v) - float64(xhat[j])
						sse += e * e
						sum[j] += float64(v)
						sumSq += float64(v) * float64(v)
					}
				}
				copy(x, xhat)
			}
			return nil, nil
		}
		withSAE, err := m.Forward(in, b.B, T, tg, &models.Options{NoGrad: true, Hook: splice})
		if err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		ceSAE += float64(withSAE.Loss)
		V := withSAE.Logits.Shape[len(withSAE.Logits.Shape)-1]
		for i := 0; i < n; i++ {
			kl += klDiv(logits[i*V:(i+1)*V], withSAE.Logits.Data[i*V:(i+1)*V])
			klN++
		}
		withSAE.Release()
		zero, err := m.Forward(in, b.B, T, tg, &models.Options{NoGrad: true, Hook: func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
			if name == cfg.Hook {
				clear(act.Data)
			}
			return nil, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("sae: %w", err)
		}
		ceZero += float64(zero.Loss)
		zero.Release()
	}
	if res.Tokens == 0 {
		return nil, errors.New("sae: no tokens to evaluate on")
	}
	N := float64(res.Tokens)
	var sst float64 = sumSq
	for _, v := range sum {
		sst -= v * v / N
	}
	res.L0 = float64(l0) / N
	res.MSE = sse / (N * float64(D))
	if sst > 0 {
		res.ExplainedVariance = 1 - sse/sst
	}
	nb := float64(cfg.Batches)
	res.CEClean, res.CEWithSAE, res.CEZeroAblation = ceClean/nb, ceSAE/nb, ceZero/nb
	res.CELossScore = jsonx.Float(CELossScore(res.CEClean, res.CEWithSAE, res.CEZeroAblation))
	res.KL = kl / float64(klN)
	res.Density = make([]float64, F)
	for k, c := range fires {
		res.Density[k] = float64(c) / N
		switch {
		case c == 0:
			res.Dead++
		case res.Density[k] > cfg.DenseThreshold:
			res.Dense++
		}
	}
	return res, nil
}

// CELossScore is (zero - withSAE) / (zero - clean), SAELens's ce_loss_score
// (NaN when ablating the hook does not change the loss).
func CELossScore(clean, withSAE, zero float64) float64 {
	if zero == clean {
		return math.NaN()
	}
	return (zero - withSAE) / (zero - clean)
}

// klDiv is KL(softmax(p) || softmax(q)) of two logit rows.
func klDiv(p, q []float32) float64 {
	lp, lq := tensor.LogSumExp(p), tensor.LogSumExp(q)
	var kl float64
	for i := range p {
		a := float64(p[i]) - lp
		kl += math.Exp(a) * (a - (float64(q[i]) - lq))
	}
	return max(kl, 0)
}
