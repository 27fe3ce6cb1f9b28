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
	j := new(report.SuperpositionJob)
	cmd := argJobCmd("superposition <experiment>",
		"Toy models of superposition and sparse autoencoders (Elhage et al. 2022)", j, &j.Name)
	cmd.Long = strings.Replace(help("superposition"), "EXPERIMENTS\n", list.String(), 1)
	return cmd
}
