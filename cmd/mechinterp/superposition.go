package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/superposition"
)

func init() { subcommands = append(subcommands, newSuperpositionCmd) }

func newSuperpositionCmd() *cobra.Command {
	var list strings.Builder
	for _, n := range superposition.ExperimentNames() {
		fmt.Fprintf(&list, "  %-15s %s\n", n, superposition.Experiments[n])
	}
	var j report.SuperpositionJob
	return command(&cobra.Command{
		Use:   "superposition <experiment>",
		Short: "Toy models of superposition and sparse autoencoders (Elhage et al. 2022)",
		Long:  strings.Replace(help("superposition"), "EXPERIMENTS\n", list.String(), 1),
		Args:  cobra.ExactArgs(1),
	}, &j, func(cmd *cobra.Command, args []string) error {
		j.Name = args[0]
		return j.Run(cmd.Context(), cmd.OutOrStdout(), report.Progress(cmd.ErrOrStderr(), false))
	})
}
