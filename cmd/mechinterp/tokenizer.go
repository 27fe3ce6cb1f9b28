package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTokenizerCmd) }

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokenizer", Short: "Train byte-level BPE tokenizers in GPT-2's format"}
	var j report.TokenizerJob
	cmd.AddCommand(command(&cobra.Command{
		Use:   "train --data goroot|PATH... --vocab 4096 --out DIR",
		Short: "Learn a byte-level BPE from a corpus; write vocab.json and merges.txt",
		Long:  help("tokenizer-train"),
		Args:  cobra.NoArgs,
	}, &j, func(cmd *cobra.Command, _ []string) error { return j.Run(cmd.Context(), cmd.OutOrStdout()) }))
	return cmd
}
