package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/viz"
)

func init() { subcommands = append(subcommands, newEAPCmd) }

func newEAPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eap --model DIR (--task induction | --tasks FILE) [--method eap|eap-ig] [--json]",
		Short: "Find a circuit by edge attribution patching and check it by patching",
		Long: `Score every edge of the model (input, heads, MLPs, logits; a head's query, key
and value inputs apart) by edge attribution patching (EAP, Syed et al. 2023) or
its integrated-gradients form (EAP-IG, Hanna et al. 2024) on clean/corrupted
prompt pairs, take the top edges as a circuit, and measure its faithfulness by
running the clean prompts with every other edge carrying its corrupted value.
--effects also patches each edge alone and correlates the scores with it.

--task induction makes repeated random tokens ([BOS] r r[:n-1], the first copy
changed in the corrupted prompt); --tasks reads JSON lines {"clean", "corrupted",
"answer", "wrong"} (text for the model's tokenizer, or token ids).`,
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			if top := v.GetInt("top"); top < 0 {
				return fmt.Errorf("--top must be at least 0, got %d", top)
			}
			m, dir, err := loadModel(v)
			if err != nil {
				return err
			}
			pairs, err := eapPairs(m, dir, v.GetString("task"), v.GetString("tasks"), circuits.InductionTask{Pairs: v.GetInt("pairs"), Len: v.GetInt("len"), Seed: v.GetUint64("seed")})
			if err != nil {
				return err
			}
			metric, err := circuits.ParseMetric(v.GetString("metric"))
			if err != nil {
				return err
			}
			method, err := circuits.ParseMethod(v.GetString("method"))
			if err != nil {
				return err
			}
			d, err := circuits.Discover(m, pairs, circuits.DiscoverOptions{
				AttributionOptions: circuits.AttributionOptions{Metric: metric, Method: method, Steps: v.GetInt("steps"), BatchSize: v.GetInt("batch")},
				Size:               v.GetInt("edges"), Greedy: v.GetBool("greedy"), Effects: v.GetBool("effects"),
			})
			if err != nil {
				return err
			}
			out := v.GetString("out")
			return show(cmd.OutOrStdout(), out, func() (*viz.Report, error) { return report.Discovery(d, dir) }, v.GetBool("json"), d,
				func(w io.Writer) { report.DiscoveryText(w, d, v.GetInt("top"), out) })
		}),
	}
	addModelFlag(cmd)
	f := cmd.Flags()
	f.String("task", "", "a built-in task: induction")
	f.String("tasks", "", "JSON-lines file of clean/corrupted/answer/wrong records")
	f.Int("pairs", 32, "pairs of the built-in task")
	f.Int("len", 10, "the induction task's repeated span (prompts of 2·len tokens with BOS)")
	f.Uint64("seed", 1, "seed of the built-in task's prompts")
	f.String("metric", "logit_diff", "logit_diff, prob, kl or loss, at each pair's last position")
	f.String("method", "eap-ig", "eap or eap-ig")
	f.Int("steps", 5, "EAP-IG's interpolation steps")
	f.Int("batch", 8, "pairs per forward pass")
	f.Int("edges", 0, "circuit size before pruning (0: 10% of the edges)")
	f.Bool("greedy", false, "grow the circuit from the logits instead of taking the top edges")
	f.Bool("effects", false, "patch each edge alone and correlate EAP and EAP-IG with it (one pass per edge)")
	f.Int("top", 15, "how many edges to print")
	addOutFlag(cmd, "", "HTML report to write")
	addJSONFlag(cmd, "circuit, scores and curve")
	addFlagFile(cmd)
	return cmd
}

// eapPairs returns the prompt pairs of --task or --tasks.
func eapPairs(m *models.Model, dir, task, file string, induction circuits.InductionTask) ([]circuits.Pair, error) {
	switch {
	case task != "" && file != "":
		return nil, errors.New("give --task or --tasks, not both")
	case task == "induction":
		return induction.Generate(m.Config.DVocab, m.Config.NCtx)
	case task != "":
		return nil, fmt.Errorf("--task %q: the built-in task is induction", task)
	case file == "":
		return nil, errors.New("give --task induction or --tasks FILE")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Without a tokenizer for the model, records must give token ids.
	tok, _ := tokenizerIn(m, dir)
	return circuits.ReadTasks(f, tok)
}
