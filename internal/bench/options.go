package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
)

// Workloads are the workloads Run times, torch_ref.py's.
var Workloads = []string{"train", "cache", "sample", "toy", "sae", "gemm", "peak"}

// Options are `mechinterp bench`'s flags, which are scripts/torch_ref.py's: each workload
// reads the ones it names.
type Options struct {
	Layers    int     `mapstructure:"layers" default:"2" help:"transformer layers"`
	Heads     int     `mapstructure:"heads" default:"8" help:"attention heads"`
	DModel    int     `mapstructure:"d-model" default:"256" help:"residual width"`
	Ctx       int     `mapstructure:"ctx" default:"128" help:"sequence length"`
	Batch     int     `mapstructure:"batch" default:"16" help:"sequences per step (toy: samples per step)"`
	Vocab     int     `mapstructure:"vocab" default:"2048" help:"vocabulary size"`
	AttnOnly  bool    `mapstructure:"attn-only" help:"attention-only blocks"`
	Steps     int     `mapstructure:"steps" default:"20" help:"timed steps (after 3 warm-up steps)"`
	Threads   int     `mapstructure:"threads" default:"2" help:"cores to use"`
	Prompt    int     `mapstructure:"prompt" default:"16" help:"sample: prompt tokens"`
	New       int     `mapstructure:"new" default:"112" help:"sample: tokens generated per sequence"`
	Instances int     `mapstructure:"instances" default:"16" help:"toy: instances trained at once"`
	Features  int     `mapstructure:"features" default:"20" help:"toy: features"`
	Hidden    int     `mapstructure:"hidden" default:"5" help:"toy: hidden dimensions"`
	Names     string  `mapstructure:"names" default:"*" help:"cache: hook-point filter of the activations to keep"`
	M         int     `mapstructure:"m" default:"512" help:"gemm: rows of op(A) and C"`
	N         int     `mapstructure:"n" default:"512" help:"gemm: columns of op(B) and C"`
	K         int     `mapstructure:"k" default:"512" help:"gemm: the inner dimension; sae: TopK's k (not given: ReLU + L1)"`
	TransA    bool    `mapstructure:"trans-a" help:"gemm: A is stored transposed (k×m)"`
	TransB    bool    `mapstructure:"trans-b" help:"gemm: B is stored transposed (n×k)"`
	DIn       int     `mapstructure:"d-in" default:"512" help:"sae: activation width"`
	DSAE      int     `mapstructure:"d-sae" default:"4096" help:"sae: dictionary size"`
	L1        float64 `mapstructure:"l1" default:"5" help:"sae: L1 coefficient (ReLU, when --k is not given)"`
	L0        float64 `mapstructure:"l0" default:"0" help:"sae: ReLU's starting active latents per row (0: a fresh SAE, half of them)"`
	// TopK makes the sae workload TopK with K (set when --k is given), as torch_ref.py's
	// default is ReLU + L1.
	TopK bool `mapstructure:"-"`
}

// Run times workload with o on o.Threads threads (it sets GOMAXPROCS) and writes its
// result with the peak resident memory to w as one JSON line.
func Run(w io.Writer, workload string, o Options) error {
	if o.Threads <= 0 || o.Threads > MaxThreads {
		return fmt.Errorf("--threads must be in [1, %d], got %d", MaxThreads, o.Threads)
	}
	runtime.GOMAXPROCS(o.Threads)
	var out map[string]any
	var err error
	switch workload {
	case "toy":
		out, err = Toy(o.Instances, o.Features, o.Hidden, o.Batch, o.Steps, o.Threads)
	case "gemm":
		out, err = Gemm(o.M, o.N, o.K, o.TransA, o.TransB, o.Steps, o.Threads)
	case "peak":
		out = Peak(o.Threads)
	case "sae":
		k := 0 // ReLU + L1
		if o.TopK {
			k = o.K
		}
		out, err = SAE(o.DIn, o.DSAE, o.Batch, k, o.L1, o.L0, o.Steps, o.Threads)
	case "train", "cache", "sample":
		out, err = Model(workload, Shape{Layers: o.Layers, Heads: o.Heads, DModel: o.DModel, Ctx: o.Ctx, Batch: o.Batch,
			Vocab: o.Vocab, AttnOnly: o.AttnOnly, Steps: o.Steps, Threads: o.Threads, Names: o.Names, Prompt: o.Prompt, New: o.New})
	default:
		return fmt.Errorf("unknown workload %q: use train, cache, sample, toy, sae, gemm or peak", workload)
	}
	if err != nil {
		return err
	}
	out["peak_rss_mb"] = PeakRSSMB()
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
