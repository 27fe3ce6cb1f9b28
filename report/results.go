package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/superposition"
	"github.com/mechinterp/mechinterp/viz"
)

// RepeatedStudy merges the results in the study directory dir (repeated.Merge: the table
// files DIR/results.csv and DIR/results.jsonl) and writes their page to page ("": DIR/report.html,
// repeated.ReportFile). It returns the analysis and the page written.
func RepeatedStudy(dir string, s repeated.Study, page string) (*repeated.Analysis, string, error) {
	a, err := repeated.Merge(dir, s)
	if err != nil {
		return nil, "", err
	}
	r, err := Repeated(a)
	if err != nil {
		return nil, "", err
	}
	if page == "" {
		page = filepath.Join(dir, repeated.ReportFile)
	}
	return a, page, r.WriteFile(page)
}

// RepeatedText prints one line per run of a repeated-data study (its last checkpoint's losses
// and prefix matching, the damage against the f = 0 baseline, the effective size, the fate of
// its induction heads) and, per f, architecture and size, the E where the damage to copying
// peaks; then where the table (in dir) and the page lie.
func RepeatedText(w io.Writer, a *repeated.Analysis, dir, page string) {
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
	fmt.Fprintf(w, "table: %s, %s\nreport: %s\n", filepath.Join(dir, repeated.ResultsCSV), filepath.Join(dir, repeated.ResultsJSONL), page)
}

// pct writes a share as a whole percentage, "-" when there is none.
func pct(x *float64) string {
	if x == nil || math.IsNaN(*x) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**x)
}

// Names of the files WriteSuperposition writes into its directory.
const (
	SuperpositionResults = "results.json"
	SuperpositionPage    = "report.html"
)

// WriteSuperposition writes a toy-model experiment's results.json (every number its charts
// plot) and then its page report.html into dir, each atomically (a temporary file renamed
// into place, so neither is ever half-written), and prints each path on w. The results are
// written first and kept even when the page cannot be built or written: they may have cost
// hours, and the error names them.
func WriteSuperposition(w io.Writer, dir string, res *superposition.ExperimentResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	results, html := filepath.Join(dir, SuperpositionResults), filepath.Join(dir, SuperpositionPage)
	if err := atomicfile.WriteBytes(results, data); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", results)
	if err := WritePage(html, func() (*viz.Report, error) { return Superposition(res) }); err != nil {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
		return fmt.Errorf("report: %s (results are in %s)", msg, results)
	}
	fmt.Fprintf(w, "wrote %s\n", html)
	return nil
}
