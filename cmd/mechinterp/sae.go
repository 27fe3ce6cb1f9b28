package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/sae"
)

func init() { subcommands = append(subcommands, newSAECmd) }

func newSAECmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sae", Short: "Sparse autoencoders on a model's hook activations (SAELens's layout)"}
	cmd.AddCommand(newSAETrainCmd(), newSAEEvalCmd(), newSAEReportCmd())
	return cmd
}

func newSAETrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train --model DIR --hook NAME [--data goroot|PATH...] [--arch topk --k 32 --width 2048] --out SAE_DIR",
		Short: "Train an SAE on the activations of one hook point over a corpus",
		Long:  help("sae-train"),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			j := sae.Job{Model: v.GetString("model"), Data: v.GetStringSlice("data"), Out: v.GetString("out"),
				Store: sae.StoreConfig{Hook: v.GetString("hook"), Buffer: v.GetInt("buffer"), Normalize: v.GetBool("normalize"), Seed: v.GetUint64("seed"),
					Cache: sae.CacheConfig{Dir: v.GetString("cache-dir")}},
				SAE: sae.Config{Architecture: sae.Architecture(v.GetString("arch")), K: v.GetInt("k"), DictSize: v.GetInt("width"),
					L1: v.GetFloat64("l1"), Steps: v.GetInt("steps"), Batch: v.GetInt("batch"), LR: v.GetFloat64("lr"), Seed: v.GetUint64("seed")}}
			if j.Model == "" || j.Out == "" || j.Store.Hook == "" {
				return fmt.Errorf("--model, --hook and --out are required")
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			res, err := j.Train(ctx, report.Progress(cmd.ErrOrStderr(), v.GetBool("quiet")))
			if err != nil {
				return oneLineErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s SAE, %d features: l0 %.2f  explained_variance %.4f (%d held-out rows)  dead %d (over the last %d training rows)  -> %s\n",
				res.Config.Architecture, res.Config.DictSize, res.L0, res.FVE, res.Config.EvalRows, res.Dead, res.Config.DeadWindow, j.Out)
			return nil
		},
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("hook", "", "hook point, e.g. blocks.0.mlp.hook_post")
	f.StringSlice("data", []string{data.KindGoroot}, `corpus: "goroot", or text files and directories`)
	f.String("arch", string(sae.TopK), "architecture: relu (L1 penalty) or topk")
	f.Int("k", 32, "active features per token (topk)")
	f.Int("width", 2048, "dictionary size d_sae")
	f.Float64("l1", 1e-3, "L1 coefficient (relu)")
	f.Int("steps", 3000, "training steps")
	f.Int("batch", 256, "activations per step")
	f.Float64("lr", 1e-3, "Adam learning rate")
	f.Int("buffer", 1<<16, "shuffle buffer rows (memory: rows x width x 4 bytes)")
	f.Bool("normalize", true, "scale activations to E||x|| = sqrt(d) (folded into the saved weights)")
	f.Uint64("seed", 1, "seed of the corpus windows, the shuffle and the initial dictionary")
	f.String("out", "", "SAE directory to write")
	f.String("cache-dir", "", "activation cache: write the activations as safetensors shards here, or read them back from an earlier run of the same model, hook and corpus")
	f.Bool("quiet", false, "no progress on stderr")
	addFlagFile(cmd)
	return cmd
}

func newSAEEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval --model DIR --sae SAE_DIR [--data goroot|PATH...] [--json]",
		Short: "Score an SAE on a model: l0, explained_variance, mse, ce_loss_score, kl, dead, dense",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			if v.GetString("model") == "" || v.GetString("sae") == "" {
				return fmt.Errorf("--model and --sae are required")
			}
			m, err := sae.EvalJob(cmd.Context(), v.GetString("model"), v.GetString("sae"), v.GetStringSlice("data"), v.GetInt("batches"), v.GetUint64("seed"))
			if err != nil {
				return oneLineErr(err)
			}
			if v.GetBool("json") {
				out := *m
				out.Density = nil
				return report.PrintJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tokens %d\nl0 %.3f\nexplained_variance %.4f\nmse %.6g\nce_loss_score %.4f  (clean %.4f, with SAE %.4f, zero-ablated %.4f)\nkl %.5f\ndead %d (no activation in %d tokens)\ndense %d (density > %g)\n",
				m.Tokens, m.L0, m.ExplainedVariance, m.MSE, m.CELossScore, m.CEClean, m.CEWithSAE, m.CEZeroAblation, m.KL, m.Dead, m.Tokens, m.Dense, m.DenseThreshold)
			return nil
		},
	}
	addModelFlag(cmd)
	addJSONFlag(cmd, "metrics")
	f := cmd.Flags()
	f.String("sae", "", "SAE directory (SAELens layout)")
	f.StringSlice("data", []string{data.KindGoroot}, `corpus: "goroot", or text files and directories`)
	f.Int("batches", 16, "batches of 8 contexts to evaluate on")
	f.Uint64("seed", 2, "seed of the corpus windows (training uses 1)")
	addFlagFile(cmd)
	return cmd
}
