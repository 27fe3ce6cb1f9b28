package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/mechinterp/mechinterp/internal/bench"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

// newBenchCmd mirrors scripts/torch_ref.py: the same workloads, flags
// and JSON keys, so the two can run side by side and be compared as ratios.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:       "bench train|cache|sample|toy|sae|gemm|peak",
		Short:     "Time the reference workloads of torch_ref.py and print one JSON line",
		Long:      help("bench"),
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"train", "cache", "sample", "toy", "sae", "gemm", "peak"},
		RunE: withSettings(func(cmd *cobra.Command, args []string, v *viper.Viper) error {
			threads := v.GetInt("threads")
			if threads <= 0 || threads > bench.MaxThreads {
				return fmt.Errorf("--threads must be in [1, %d], got %d", bench.MaxThreads, threads)
			}
			runtime.GOMAXPROCS(threads)
			var out map[string]any
			var err error
			switch args[0] {
			case "toy":
				out, err = bench.Toy(v.GetInt("instances"), v.GetInt("features"), v.GetInt("hidden"),
					v.GetInt("batch"), v.GetInt("steps"), threads)
			case "gemm":
				out, err = bench.Gemm(v.GetInt("m"), v.GetInt("n"), v.GetInt("k"),
					v.GetBool("trans-a"), v.GetBool("trans-b"), v.GetInt("steps"), threads)
			case "peak":
				out = bench.Peak(threads)
			case "sae":
				k := 0 // torch_ref.py's default: ReLU + L1
				if cmd.Flags().Changed("k") {
					k = v.GetInt("k")
				}
				out, err = bench.SAE(v.GetInt("d-in"), v.GetInt("d-sae"), v.GetInt("batch"), k, v.GetFloat64("l1"), v.GetInt("steps"), threads)
			case "train", "cache", "sample":
				out, err = bench.Model(args[0], bench.Shape{
					Layers: v.GetInt("layers"), Heads: v.GetInt("heads"), DModel: v.GetInt("d-model"),
					Ctx: v.GetInt("ctx"), Batch: v.GetInt("batch"), Vocab: v.GetInt("vocab"),
					AttnOnly: v.GetBool("attn-only"), Steps: v.GetInt("steps"), Threads: threads,
					Names: v.GetString("names"), Prompt: v.GetInt("prompt"), New: v.GetInt("new"),
				})
			default:
				return fmt.Errorf("unknown workload %q: use train, cache, sample, toy, sae, gemm or peak", args[0])
			}
			if err != nil {
				return err
			}
			out["peak_rss_mb"] = bench.PeakRSSMB()
			return writeJSONLine(cmd.OutOrStdout(), out)
		}),
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
	f.Int("prompt", 16, "sample: prompt tokens")
	f.Int("new", 112, "sample: tokens generated per sequence")
	f.Int("instances", 16, "toy: instances trained at once")
	f.Int("features", 20, "toy: features")
	f.Int("hidden", 5, "toy: hidden dimensions")
	f.String("names", "*", "cache: hook-point filter of the activations to keep")
	f.Int("m", 512, "gemm: rows of op(A) and C")
	f.Int("n", 512, "gemm: columns of op(B) and C")
	f.Int("k", 512, "gemm: the inner dimension; sae: TopK's k (not given: ReLU + L1)")
	f.Bool("trans-a", false, "gemm: A is stored transposed (k×m)")
	f.Bool("trans-b", false, "gemm: B is stored transposed (n×k)")
	f.Int("d-in", 512, "sae: activation width")
	f.Int("d-sae", 4096, "sae: dictionary size")
	f.Float64("l1", 5, "sae: L1 coefficient (ReLU, when --k is not given)")
	addFlagFile(cmd)
	return cmd
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
