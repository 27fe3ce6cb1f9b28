package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/train"
)

// Bounds of every workload: timed steps, and threads (each a goroutine the
// scheduler keeps, beyond any machine's cores).
const (
	MaxSteps   = 1_000_000
	MaxThreads = 1024
)

// Shape is a train or cache workload: the model's shape, the batch, the timed steps, the
// threads (reported, set by the caller) and, for cache, the hook-point filter.
type Shape struct {
	Layers, Heads, DModel, Ctx, Batch, Vocab int
	AttnOnly                                 bool
	Steps, Threads                           int
	Names                                    string
	// Prompt and New are sample's prompt length and tokens generated.
	Prompt, New int
}

// Model times torch_ref.py's train, cache or sample workload on the same
// shapes: untied unembedding with bias, d_mlp = 4·d_model, random tokens and
// targets. sample generates New tokens after a Prompt of random tokens at
// temperature 1 with models.Generate (a key/value cache), one warm-up step.
func Model(workload string, s Shape) (map[string]any, error) {
	if s.Steps <= 0 || s.Batch <= 0 || s.Steps > MaxSteps {
		return nil, fmt.Errorf("--steps must be in [1, %d] and --batch positive", MaxSteps)
	}
	if workload == "sample" {
		if s.Prompt <= 0 || s.New <= 0 {
			return nil, fmt.Errorf("--prompt and --new must be positive")
		}
		s.Ctx = max(s.Ctx, s.Prompt+s.New)
	}
	cfg := models.Config{NLayers: s.Layers, NHeads: s.Heads, DModel: s.DModel,
		NCtx: s.Ctx, DVocab: s.Vocab, AttnOnly: s.AttnOnly, Untied: true}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := memory.Check(cfg.TrainBytes(s.Batch, s.Ctx)); err != nil {
		return nil, fmt.Errorf("bench %s: --batch %d --ctx %d on this model %w", workload, s.Batch, s.Ctx, err)
	}
	m, err := models.New(cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(0, 0))
	tokens, targets := make([]int, s.Batch*s.Ctx), make([]int, s.Batch*s.Ctx)
	for i := range tokens {
		tokens[i], targets[i] = rng.IntN(s.Vocab), rng.IntN(s.Vocab)
	}
	var step func() error
	switch workload {
	case "train":
		tc := train.DefaultConfig()
		tc.WeightDecay = 0.01
		opt := train.NewAdamW(m.Params, tc)
		grads := m.Params.ZerosLike()
		step = func() error {
			pass, err := m.Forward(tokens, s.Batch, s.Ctx, targets, nil)
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
	case "sample":
		prompts := make([][]int, s.Batch)
		for i := range prompts {
			prompts[i] = tokens[i*s.Ctx : i*s.Ctx+s.Prompt]
		}
		step = func() error {
			_, err := models.Generate(m, prompts, s.New, models.SampleOptions{})
			return err
		}
	case "cache":
		filter, err := hooks.NewFilter(s.Names)
		if err != nil {
			return nil, err
		}
		if err := filter.Check(m.Config); err != nil {
			return nil, err
		}
		step = func() error {
			// A fresh cache each step, dropped at the end of it, as torch_ref.py
			// drops its list: one step's activations live at a time.
			_, cache, err := hooks.RunWithCache(m, tokens, s.Batch, s.Ctx, filter)
			cache.Release()
			return err
		}
	}
	warmup := 3
	if workload == "sample" {
		warmup = 1
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for i := 0; i < s.Steps; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	dt := time.Since(start).Seconds() / float64(s.Steps)
	if workload == "sample" {
		return map[string]any{
			"workload": workload, "layers": s.Layers, "heads": s.Heads, "d_model": s.DModel,
			"vocab": s.Vocab, "batch": s.Batch, "prompt": s.Prompt, "new": s.New, "attn_only": s.AttnOnly,
			"threads": s.Threads, "new_tokens_per_s": float64(s.Batch*s.New) / dt,
		}, nil
	}
	return map[string]any{
		"workload": workload, "layers": s.Layers, "heads": s.Heads, "d_model": s.DModel,
		"ctx": s.Ctx, "batch": s.Batch, "vocab": s.Vocab, "attn_only": s.AttnOnly,
		"params": m.NumParams(), "threads": s.Threads,
		"tokens_per_s": float64(s.Batch*s.Ctx) / dt, "ms_per_step": dt * 1e3,
	}, nil
}

// PeakRSSMB is the process's peak resident memory in MiB (Linux reports
// ru_maxrss in KiB).
func PeakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Maxrss) / 1024
}

// Gemm times C = A·B (op(A) m×k, op(B) k×n, row-major, alpha 1, beta 0)
// through tensor.Gemm, the seam every model multiply goes through, and
// reports GFLOP/s (2mnk per multiply). MECHINTERP_GEMM picks the kernel, so
// the same command measures the packed kernel, its portable micro-kernel and
// gonum; scripts/gemm_openblas.py prints the same keys for OpenBLAS.
// peak_share is the rate over tensor.MeasurePeak's on as many threads,
// measured right after in the same process.
func Gemm(m, n, k int, transA, transB bool, reps, threads int) (map[string]any, error) {
	if m <= 0 || n <= 0 || k <= 0 || reps <= 0 || reps > MaxSteps {
		return nil, fmt.Errorf("bench gemm: --m, --n and --k must be positive and --steps in [1, %d]", MaxSteps)
	}
	if err := memory.Check(4 * (float64(m)*float64(k) + float64(k)*float64(n) + float64(m)*float64(n))); err != nil {
		return nil, fmt.Errorf("bench gemm: --m %d --n %d --k %d %w", m, n, k, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	a, b, c := fill(m*k), fill(k*n), make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	run := func() { tensor.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n) }
	// Warm up, then repeat until at least reps multiplies and 0.2 s have
	// passed, so that small sizes are not timer noise.
	for range 3 {
		run()
	}
	start, done := time.Now(), 0
	for done < reps || time.Since(start) < 200*time.Millisecond {
		run()
		done++
	}
	dt := time.Since(start).Seconds() / float64(done)
	gflops := 2 * float64(m) * float64(n) * float64(k) / dt / 1e9
	peak := tensor.MeasurePeak(threads, peakTime/5)
	impl := os.Getenv("MECHINTERP_GEMM")
	if impl == "" {
		impl = "default"
	}
	return map[string]any{
		"workload": "gemm", "impl": impl, "m": m, "n": n, "k": k,
		"trans_a": transA, "trans_b": transB, "threads": threads,
		"gflops": gflops, "ms_per_op": dt * 1e3,
		"peak_gflops": peak.GFLOPS, "peak_share": gflops / peak.GFLOPS,
	}, nil
}

// peakTime is how long Peak times each thread count; Gemm measures the
// roof it reports its share of for a fifth of it.
const peakTime = 500 * time.Millisecond

// Peak times tensor.MeasurePeak, a register-only loop of fused
// multiply-adds on the widest vector unit, on one thread and on threads:
// the roof Gemm's rate is measured against (gflops_1thread, gflops).
func Peak(threads int) map[string]any {
	one := tensor.MeasurePeak(1, peakTime)
	all := tensor.MeasurePeak(threads, peakTime)
	return map[string]any{
		"workload": "peak", "isa": one.ISA, "threads": threads,
		"gflops_1thread": one.GFLOPS, "gflops": all.GFLOPS,
	}
}

// Toy reproduces the "toy" workload of scripts/torch_ref.py: the
// ReLU-output toy model of superposition, `instances` instances of
// features->hidden trained at once with sparsity linspace(0, 0.99, I) and
// importance 0.9^i, AdamW lr 1e-3, batch `batch`; three warm-up steps, then
// `steps` timed steps. It returns torch_ref.py's JSON keys.
func Toy(instances, features, hidden, batch, steps, threads int) (map[string]any, error) {
	if instances <= 0 || features <= 0 || hidden <= 0 || batch <= 0 || steps <= 0 || threads <= 0 || steps > MaxSteps {
		return nil, fmt.Errorf("bench toy: instances, features, hidden, batch and threads must be positive and steps in [1, %d]", MaxSteps)
	}
	// Per instance: the weights and AdamW's state, and a batch's inputs,
	// hidden values and outputs with their gradients.
	need := 4 * float64(instances) * (6*float64(features)*float64(hidden) + 4*float64(batch)*(2*float64(features)+float64(hidden)))
	if err := memory.Check(need); err != nil {
		return nil, fmt.Errorf("bench toy: --instances %d --features %d --hidden %d --batch %d %w", instances, features, hidden, batch, err)
	}
	imp := superposition.GeometricImportance(features, 0.9)
	ins := make([]superposition.Instance, instances)
	for i := range ins {
		s := 0.0
		if instances > 1 {
			s = 0.99 * float64(i) / float64(instances-1)
		}
		ins[i] = superposition.Instance{
			Data:       superposition.Distribution{Density: superposition.UniformDensity(features, 1-s)},
			Importance: imp,
			Seed:       uint64(i),
		}
	}
	cfg := superposition.Config{Kind: superposition.ReLUOutput, Features: features, Hidden: hidden,
		Batch: batch, Steps: steps, Threads: threads}
	run, err := superposition.NewRun(cfg, ins)
	if err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	ctx := context.Background()
	if _, err := run.Steps(ctx, 3); err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	start := time.Now()
	if _, err := run.Steps(ctx, steps); err != nil {
		return nil, fmt.Errorf("bench toy: %w", err)
	}
	dt := time.Since(start).Seconds() / float64(steps)
	return map[string]any{
		"workload":      "toy",
		"instances":     instances,
		"features":      features,
		"hidden":        hidden,
		"batch":         batch,
		"steps_per_s":   1 / dt,
		"samples_per_s": float64(batch*instances) / dt,
		"threads":       threads,
	}, nil
}
