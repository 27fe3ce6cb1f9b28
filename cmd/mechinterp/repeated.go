package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newRepeatedCmd) }

func newRepeatedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repeated [--config study.yaml] [--out DIR] [--shard i/n] [--workers N]",
		Short: "Train model families on repeated data and measure the damage to induction heads and copying",
		Long: help("repeated"),
		Args: cobra.NoArgs,
		RunE: withSettings(func(cmd *cobra.Command, _ []string, v *viper.Viper) error {
			if v.GetBool("print-config") {
				_, err := cmd.OutOrStdout().Write(repeated.DefaultConfig)
				return err
			}
			return runRepeated(cmd, v)
		}),
	}
	f := cmd.Flags()
	f.String("config", "", "YAML study config; its keys replace the default study's")
	f.String("out", "", "study directory (default repeated-study, or runs/<config name>)")
	f.String("shard", "", "run only shard i/n of the grid (0 <= i < n)")
	f.Int("workers", 0, "runs trained at once (0: one per core)")
	f.Bool("print-config", false, "print the default study config and exit")
	f.Bool("quiet", false, "no progress lines on stderr")
	f.Bool("json", false, "print the analysis as JSON")
	cmd.AddCommand(newRepeatedReportCmd())
	return cmd
}

func newRepeatedReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report DIR [-o report.html] [--json]",
		Short: "Merge a study directory's results into one table and report",
		Long: help("repeated-report"),
		Args: cobra.ExactArgs(1),
		RunE: withSettings(func(cmd *cobra.Command, args []string, v *viper.Viper) error {
			s, err := repeated.ReadStudy(args[0])
			if err != nil {
				return err
			}
			return repeatedReport(cmd, v, s, args[0])
		}),
	}
	cmd.Flags().StringP("out", "o", "", "HTML report (default DIR/report.html)")
	cmd.Flags().Bool("json", false, "print the analysis as JSON")
	return cmd
}

func runRepeated(cmd *cobra.Command, v *viper.Viper) error {
	file := v.GetString("config")
	s, err := repeated.LoadStudy(file)
	if err != nil {
		return err
	}
	out := v.GetString("out")
	if out == "" {
		out = "repeated-study"
		if file != "" {
			out = run.DefaultDir(file)
		}
	}
	shard, err := repeated.ParseShard(v.GetString("shard"))
	if err != nil {
		return err
	}
	var progress io.Writer
	if !v.GetBool("quiet") {
		progress = cmd.ErrOrStderr()
	}
	ctx, stop := interruptible(cmd)
	defer stop()
	tally, runErr := repeated.ExecuteShard(ctx, s, shard, repeated.Options{Dir: out, Workers: v.GetInt("workers")}, progress)
	if errors.Is(runErr, train.ErrInterrupted) {
		return fmt.Errorf("study interrupted; run the same command again to resume")
	}
	if _, err := os.Stat(filepath.Join(out, repeated.StudyFile)); err != nil {
		return oneLineErr(runErr) // nothing was written: the study itself is wrong
	}
	if err := repeatedReport(cmd, v, s, out); err != nil && runErr == nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("%d of %d runs failed: %s", tally.Failed, tally.Total, oneLine(runErr))
	}
	return nil
}

// repeatedReport merges the results in dir into the table and the report
// and prints the summary.
func repeatedReport(cmd *cobra.Command, v *viper.Viper, s repeated.Study, dir string) error {
	page := ""
	if cmd.Name() == "report" {
		page = v.GetString("out")
	}
	a, page, err := report.RepeatedStudy(dir, s, page)
	if err != nil {
		return err
	}
	if v.GetBool("json") {
		return printJSON(cmd.OutOrStdout(), a)
	}
	report.RepeatedText(cmd.OutOrStdout(), a, dir, page)
	return nil
}
