package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/internal/bench"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

// newBenchCmd mirrors scripts/torch_ref.py: the same workloads, flags
// and JSON keys, so the two can run side by side and be compared as ratios.
func newBenchCmd() *cobra.Command {
	var o bench.Options
	return command(&cobra.Command{
		Use:       "bench train|cache|sample|toy|sae|gemm|peak",
		Short:     "Time the reference workloads of torch_ref.py and print one JSON line",
		Args:      cobra.ExactArgs(1),
		ValidArgs: bench.Workloads,
	}, &o, func(cmd *cobra.Command, args []string) error {
		o.TopK = cmd.Flags().Changed("k")
		return bench.Run(cmd.OutOrStdout(), args[0], o)
	})
}
