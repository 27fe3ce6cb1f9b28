package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/report"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/viz"
	"github.com/mechinterp/mechinterp/viz/attention"
)

// demoPage is one page the demo writes about what it trained, through the library calls of
// the command a user would run for it (printed, so it can be rerun by hand).
type demoPage struct {
	args  []string // the command, without -o
	show  bool     // print the command's output in the demo's
	write func(w io.Writer, out string) error
}

// demoReports writes the pages of heads, track, circuits, attention and patch on the demo run
// under RUN/reports and links them from RUN/index.html (report.RunIndex), which it returns.
func demoReports(ctx context.Context, d *demoResult, w, progress io.Writer) (string, error) {
	final := d.Checkpoints[len(d.Checkpoints)-1].Dir
	clean, corrupted, answer, wrong := inductionPatchPrompt(d)
	// The attention page shows [BOS] r r with the first 12 tokens of r.
	repeat := append(append([]int{clean[0]}, clean[1:13]...), clean[1:13]...)
	errw := io.Discard
	if progress != nil {
		errw = progress
	}
	m, err := models.Load(final)
	if err != nil {
		return "", err
	}
	trackArgs := []string{"track", d.Dir}
	if progress == nil {
		trackArgs = append(trackArgs, "--quiet")
	}
	pages := []demoPage{
		{[]string{"heads", "--model", final}, true, func(w io.Writer, out string) error {
			return writeHeads(w, m, final, probes.HeadOptions{Repeat: runRepeat(&d.Config.Data, m.Config.DVocab)}, out, false)
		}},
		{trackArgs, true, func(w io.Writer, out string) error {
			o := probes.TrackOptions{Threshold: 0.4, Heads: probes.HeadOptions{Repeat: runRepeat(&d.Config.Data, 0)}}
			if progress != nil {
				o.Progress = func(done, total, step int) { fmt.Fprintf(errw, "track: probed step %d (%d/%d)\n", step, done, total) }
			}
			res, err := probes.Track(ctx, d.Dir, o)
			if err != nil {
				return err
			}
			if err := writePage(out, func() (*viz.Report, error) { return report.Track(res) }); err != nil {
				return err
			}
			printTrack(w, res, out)
			return nil
		}},
		{[]string{"circuits", "--model", final, "--top", "4"}, true, func(w io.Writer, out string) error {
			return runCircuits(w, final, out, false, 4, 1)
		}},
		{[]string{"attention", "--model", final, "--tokens", joinInts(repeat)}, false, func(w io.Writer, out string) error {
			a, err := attention.Compute(ctx, m, repeat, nil)
			if err != nil {
				return err
			}
			a.Title = attention.ModelTitle(final)
			if a.Heads, err = report.AttentionRoles(m); err != nil {
				fmt.Fprintf(errw, "mechinterp attention: no head roles: %v\n", err) // a label, not the page
			}
			return writePage(out, func() (*viz.Report, error) { return attention.Page(a, attention.Options{}) })
		}},
		{[]string{"patch", "--model", final, "--tokens-mode", "--clean", joinInts(clean), "--corrupted", joinInts(corrupted),
			"--answer", strconv.Itoa(answer), "--wrong", strconv.Itoa(wrong), "--top", "4"}, true, func(w io.Writer, out string) error {
			return runPatch(w, progressWriter(errw, false), patchArgs{model: final, clean: joinInts(clean), corrupted: joinInts(corrupted),
				answer: strconv.Itoa(answer), wrong: strconv.Itoa(wrong), tokensMode: true, out: out, top: 4})
		}},
	}
	for i, p := range pages {
		out := filepath.Join(d.Dir, run.ReportsDir, report.RunPages[i].File)
		var buf bytes.Buffer
		if err := p.write(&buf, out); err != nil {
			return "", fmt.Errorf("demo: mechinterp %s: %w", p.args[0], err)
		}
		fmt.Fprintf(w, "\n$ mechinterp %s -o %s\n", strings.Join(quoteArgs(p.args), " "), out)
		if p.show {
			w.Write(buf.Bytes())
		} else {
			fmt.Fprintf(w, "page: %s\n", out)
		}
	}
	page, err := report.RunIndex(d.Dir)
	if err != nil {
		return "", err
	}
	index := filepath.Join(d.Dir, run.IndexFile)
	return index, page.WriteFile(index)
}

// inductionPatchPrompt builds the demo's patching experiment (Olsson et al.
// 2022's induction task): clean = [BOS] r r[:k], whose next token is r[k] by
// induction; corrupted changes the earlier r[k] to a token x outside r, so
// that induction now points at x. The logit difference r[k] - x is positive
// on the clean prompt and negative on the corrupted one, and patching shows
// which heads carry it.
func inductionPatchPrompt(d *demoResult) (clean, corrupted []int, answer, wrong int) {
	const n, k = 16, 10
	rc := d.Config.Data.Synthetic.EvalRepeated(n, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	perm := rng.Perm(rc.MaxToken - rc.MinToken)
	var r []int
	for _, p := range perm {
		t := rc.MinToken + p
		if t != rc.BOS {
			r = append(r, t)
		}
		if len(r) == n+1 {
			break
		}
	}
	x := r[n] // drawn with r, so outside it
	r = r[:n]
	clean = append(append([]int{rc.BOS}, r...), r[:k]...)
	corrupted = append([]int(nil), clean...)
	corrupted[1+k] = x
	return clean, corrupted, r[k], x
}

func joinInts(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// quoteArgs shell-quotes arguments that need it, for printing commands a
// user can paste.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$;&|<>()*?[]") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}
