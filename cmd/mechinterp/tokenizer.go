package main

import (
	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTokenizerCmd) }

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokenizer", Short: "Train byte-level BPE tokenizers in GPT-2's format"}
	cmd.AddCommand(jobCmd("train --data goroot|PATH... --vocab 4096 --out DIR",
		"Learn a byte-level BPE from a corpus; write vocab.json and merges.txt", new(report.TokenizerJob)))
	return cmd
}
