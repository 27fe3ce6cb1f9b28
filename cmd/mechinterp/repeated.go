package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/train"
)

func init() { subcommands = append(subcommands, newRepeatedCmd) }

func newRepeatedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repeated [--config study.yaml] [--out DIR] [--shard i/n] [--workers N]",
		Short: "Train model families on repeated data and measure the damage to induction heads and copying",
		Long: `Run a repeated-data study (Hernandez et al. 2022): a grid of small
transformers trained on a fixed token budget of which a fraction f repeats a
small subset E times, measured at every checkpoint (held-out loss, loss on the
repeated subset, copying, prefix-matching and copying scores per head,
induction loss, ICL score). Without --config it runs the default study, which
takes about 15 minutes on 2 cores (--print-config shows it; a config file
changes what it sets and keeps the rest).

Each run trains in OUT/runs/<run id>/ (an ordinary training run). Running
the command again skips finished runs and resumes interrupted ones from their
last checkpoint. --shard i/n runs every n-th run from the i-th (0 <= i < n),
so n machines sharing OUT run the study together (docs/repeated-data.md has
Slurm and Kubernetes job files). At the end the command merges whatever
results OUT holds into OUT/results.csv, OUT/results.jsonl and
OUT/report.html, as 'mechinterp repeated report OUT' does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			if v.GetBool("print-config") {
				_, err := cmd.OutOrStdout().Write(repeated.DefaultConfig)
				return err
			}
			return runRepeated(cmd, v)
		},
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
		Long: `Gather the results of every run in a study directory (finished runs and
the checkpoints measured so far of the others, from every shard), write
DIR/results.csv and DIR/results.jsonl (one row per run and checkpoint), and
the report DIR/report.html: damage against E for each f, effective model
size, the fate of each run's induction heads, and double descent.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := settings(cmd)
			if err != nil {
				return err
			}
			s, err := repeated.ReadStudy(args[0])
			if err != nil {
				return err
			}
			return repeatedReport(cmd, v, s, args[0])
		},
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
			out = defaultOut(file)
		}
	}
	shard, err := repeated.ParseShard(v.GetString("shard"))
	if err != nil {
		return err
	}
	runs := shard.Of(s.Runs())
	errw := cmd.ErrOrStderr()
	quiet := v.GetBool("quiet")
	if !quiet {
		part := ""
		if shard.N > 1 {
			part = fmt.Sprintf(" (shard %d/%d)", shard.I, shard.N)
		}
		fmt.Fprintf(errw, "study %q: %d runs%s into %s\n", s.Name, len(runs), part, out)
	}
	done, failed := 0, 0
	opts := repeated.Options{Dir: out, Workers: v.GetInt("workers"), Event: func(e repeated.Event) {
		if e.Kind != "start" {
			done++
		}
		if e.Kind == "failed" {
			failed++
		}
		if quiet {
			return
		}
		switch e.Kind {
		case "start":
			from := ""
			if e.ResumedFrom >= 0 {
				from = fmt.Sprintf(", resuming from step %d", e.ResumedFrom)
			}
			fmt.Fprintf(errw, "  %s: training%s\n", e.Run.ID, from)
		case "skip":
			fmt.Fprintf(errw, "  %s: already complete (%d/%d)\n", e.Run.ID, done, len(runs))
		case "busy":
			fmt.Fprintf(errw, "  %s: another process is training it; skipped (%d/%d)\n", e.Run.ID, done, len(runs))
		case "done":
			fmt.Fprintf(errw, "  %s: done in %.0f s (%d/%d)\n", e.Run.ID, e.Elapsed.Seconds(), done, len(runs))
		case "interrupted":
			fmt.Fprintf(errw, "  %s: interrupted; its last checkpoint is saved\n", e.Run.ID)
		case "failed":
			fmt.Fprintf(errw, "  %s: failed: %s\n", e.Run.ID, oneLine(e.Err))
		}
	}}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runErr := repeated.Execute(ctx, s, runs, opts)
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
		return fmt.Errorf("%d of %d runs failed: %s", failed, len(runs), oneLine(runErr))
	}
	return nil
}

// repeatedReport merges the results in dir into the table and the report
// and prints the summary.
func repeatedReport(cmd *cobra.Command, v *viper.Viper, s repeated.Study, dir string) error {
	a, err := repeated.Merge(dir, s)
	if err != nil {
		return err
	}
	r, err := report.Repeated(a)
	if err != nil {
		return err
	}
	html := filepath.Join(dir, repeated.ReportFile)
	if cmd.Name() == "report" && v.GetString("out") != "" {
		html = v.GetString("out")
	}
	if err := r.WriteFile(html); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if v.GetBool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	printRepeated(w, a)
	fmt.Fprintf(w, "table: %s, %s\nreport: %s\n", filepath.Join(dir, repeated.ResultsCSV), filepath.Join(dir, repeated.ResultsJSONL), html)
	return nil
}

// printRepeated prints one line per run and, per f, where the damage to
// copying peaks.
func printRepeated(w io.Writer, a *repeated.Analysis) {
	fmt.Fprintf(w, "study %q: %d of %d runs have results\n", a.Study, len(a.Runs), a.Planned)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tstep\ttest loss\tcopy loss\tprefix\ttest dmg\tcopy dmg\tprefix dmg\teff. size\tfate\t")
	for _, sm := range a.Runs {
		f := sm.Final
		step := fmt.Sprint(f.Step)
		if !sm.Complete {
			step += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n", sm.Run, step, f.TestLoss, f.CopyLoss, f.PrefixMax,
			pct(sm.TestDamageRel), pct(sm.CopyDamageRel), pct(sm.PrefixDamageRel), pct(sm.EffectiveShare), sm.Fate)
	}
	tw.Flush()
	fmt.Fprintln(w, "(dmg: share of the f = 0 baseline's gain lost; eff. size: the f = 0 size reaching the same test loss, as a share of the run's size; * unfinished)")
	type key struct {
		f          float64
		arch, size string
	}
	peak := map[key]repeated.Summary{}
	var order []key
	for _, sm := range a.Runs {
		if sm.CopyDamage == nil || sm.Final.Fraction == 0 {
			continue
		}
		k := key{sm.Final.Fraction, sm.Final.Arch, sm.Final.Size}
		p, ok := peak[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || *sm.CopyDamage > *p.CopyDamage {
			peak[k] = sm
		}
	}
	for _, k := range order {
		p := peak[k]
		fmt.Fprintf(w, "damage peak, f=%g %s %s: E=%d (copy loss %+.3f, %s; prefix %s; test loss %+.3f, %s)\n", k.f, k.arch, k.size,
			p.Final.Epochs, *p.CopyDamage, pct(p.CopyDamageRel), pct(p.PrefixDamageRel), *p.TestDamage, pct(p.TestDamageRel))
	}
}

func pct(x *float64) string {
	if x == nil || math.IsNaN(*x) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**x)
}
