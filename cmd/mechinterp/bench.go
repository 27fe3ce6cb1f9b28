package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

// newBenchCmd mirrors scripts/torch_ref.py: the same workloads, flags
// and JSON keys, so the two can run side by side and be compared as ratios.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench train|cache|toy|gemm",
		Short: "Time the reference workloads of torch_ref.py and print one JSON line",
		Long: `Time a workload with the flags of scripts/torch_ref.py and print the
same JSON keys (tokens_per_s, ms_per_step; steps_per_s for toy), plus the peak
resident memory. train: forward, backward and AdamW; cache: a forward pass
keeping the activations selected by --names (all by default); toy: the
ReLU-output toy model of superposition, many instances at once; gemm: one
matrix multiply through tensor.Gemm (MECHINTERP_GEMM picks the kernel), in
GFLOP/s, as scripts/gemm_openblas.py measures OpenBLAS.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"train", "cache", "toy", "gemm"},
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			threads := v.GetInt("threads")
			if threads <= 0 {
				return fmt.Errorf("--threads must be positive")
			}
			runtime.GOMAXPROCS(threads)
			var out map[string]any
			switch args[0] {
			case "toy":
				out, err = benchToy(v.GetInt("instances"), v.GetInt("features"), v.GetInt("hidden"),
					v.GetInt("batch"), v.GetInt("steps"), threads)
			case "gemm":
				out, err = benchGemm(v.GetInt("m"), v.GetInt("n"), v.GetInt("k"),
					v.GetBool("trans-a"), v.GetBool("trans-b"), v.GetInt("steps"), threads)
			case "train", "cache":
				out, err = benchModel(args[0], benchShape{
					layers: v.GetInt("layers"), heads: v.GetInt("heads"), dModel: v.GetInt("d-model"),
					ctx: v.GetInt("ctx"), batch: v.GetInt("batch"), vocab: v.GetInt("vocab"),
					attnOnly: v.GetBool("attn-only"), steps: v.GetInt("steps"), threads: threads,
					names: v.GetString("names"),
				})
			default:
				return fmt.Errorf("unknown workload %q: use train, cache, toy or gemm", args[0])
			}
			if err != nil {
				return err
			}
			out["peak_rss_mb"] = peakRSSMB()
			return writeJSONLine(cmd.OutOrStdout(), out)
		},
	}
	f := cmd.Flags()
	f.Int("layers", 2, "transformer layers")
	f.Int("heads", 8, "attention heads")
	f.Int("d-model", 256, "residual width")
	f.Int("ctx", 128, "sequence length")
	f.Int("batch", 16, "sequences per step (toy: samples per step)")
	f.Int("vocab", 2048, "vocabulary size")
	f.Bool("attn-only", false, "attention-only blocks")
	f.Int("steps", 20, "timed steps (after 3 warm-up steps)")
	f.Int("threads", 2, "cores to use")
	f.Int("instances", 16, "toy: instances trained at once")
	f.Int("features", 20, "toy: features")
	f.Int("hidden", 5, "toy: hidden dimensions")
	f.String("names", "*", "cache: hook-point filter of the activations to keep")
	f.Int("m", 512, "gemm: rows of op(A) and C")
	f.Int("n", 512, "gemm: columns of op(B) and C")
	f.Int("k", 512, "gemm: the inner dimension")
	f.Bool("trans-a", false, "gemm: A is stored transposed (k×m)")
	f.Bool("trans-b", false, "gemm: B is stored transposed (n×k)")
	addFlagFile(cmd)
	return cmd
}

type benchShape struct {
	layers, heads, dModel, ctx, batch, vocab int
	attnOnly                                 bool
	steps, threads                           int
	names                                    string
}

// benchModel times torch_ref.py's train or cache workload on the same shapes:
// untied unembedding with bias, d_mlp = 4·d_model, random tokens and targets.
func benchModel(workload string, s benchShape) (map[string]any, error) {
	if s.steps <= 0 || s.batch <= 0 {
		return nil, fmt.Errorf("--steps and --batch must be positive")
	}
	m, err := models.New(models.Config{NLayers: s.layers, NHeads: s.heads, DModel: s.dModel,
		NCtx: s.ctx, DVocab: s.vocab, AttnOnly: s.attnOnly, Untied: true})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(0, 0))
	tokens, targets := make([]int, s.batch*s.ctx), make([]int, s.batch*s.ctx)
	for i := range tokens {
		tokens[i], targets[i] = rng.IntN(s.vocab), rng.IntN(s.vocab)
	}
	var step func() error
	switch workload {
	case "train":
		tc := train.DefaultConfig()
		tc.WeightDecay = 0.01
		opt := train.NewAdamW(m.Params, tc)
		grads := m.Params.ZerosLike()
		step = func() error {
			pass, err := m.Forward(tokens, s.batch, s.ctx, targets, nil)
			if err != nil {
				return err
			}
			clear(grads.Data)
			if err := m.Backward(pass, grads, nil); err != nil {
				return err
			}
			pass.Release()
			return opt.Step(m.Params.Data, grads.Data, 1e-3)
		}
	case "cache":
		filter, err := hooks.NewFilter(s.names)
		if err != nil {
			return nil, err
		}
		if err := filter.Check(m.Config); err != nil {
			return nil, err
		}
		step = func() error {
			// A fresh cache each step, dropped at the end of it, as torch_ref.py
			// drops its list: one step's activations live at a time.
			_, cache, err := hooks.RunWithCache(m, tokens, s.batch, s.ctx, filter)
			cache.Release()
			return err
		}
	}
	for i := 0; i < 3; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for i := 0; i < s.steps; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	dt := time.Since(start).Seconds() / float64(s.steps)
	return map[string]any{
		"workload": workload, "layers": s.layers, "heads": s.heads, "d_model": s.dModel,
		"ctx": s.ctx, "batch": s.batch, "vocab": s.vocab, "attn_only": s.attnOnly,
		"params": m.NumParams(), "threads": s.threads,
		"tokens_per_s": float64(s.batch*s.ctx) / dt, "ms_per_step": dt * 1e3,
	}, nil
}

// peakRSSMB is the process's peak resident memory in MiB (Linux reports
// ru_maxrss in KiB).
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Maxrss) / 1024
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
