package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/report"
)

func init() { subcommands = append(subcommands, newTokenizerCmd) }

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokenizer", Short: "Train byte-level BPE tokenizers in GPT-2's format"}
	train := &cobra.Command{
		Use:   "train --data goroot|PATH... --vocab 4096 --out DIR",
		Short: "Learn a byte-level BPE from a corpus; write vocab.json and merges.txt",
		Long:  help("tokenizer-train"),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			dc, err := data.CorpusConfig(v.GetStringSlice("data"))
			if err != nil {
				return err
			}
			out := v.GetString("out")
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			tr, st, err := data.TrainTokenizer(cmd.Context(), dc, v.GetInt("vocab"), v.GetInt64("max-bytes"))
			if err != nil {
				return oneLineErr(err)
			}
			bpe, err := tr.Save(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "read %d files (%s, %d distinct chunks); %d tokens, %d merges -> %s\n",
				st.Files, report.HumanBytes(st.Bytes), st.Chunks, bpe.VocabSize(), bpe.NumMerges(), out)
			return nil
		},
	}
	f := train.Flags()
	f.StringSlice("data", []string{data.KindGoroot}, `corpus: "goroot", or text files and directories`)
	f.Int("vocab", 4096, "vocabulary size, <|endoftext|> included")
	f.Int64("max-bytes", 0, "stop reading the corpus after this many bytes (0: all)")
	f.String("out", "", "directory to write vocab.json and merges.txt into")
	addFlagFile(train)
	cmd.AddCommand(train)
	return cmd
}
