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

	"github.com/mechinterp/mechinterp/viz"
)

// demoPage is one report the demo writes by running a command on what it
// trained, as a user would.
type demoPage struct {
	title, file, about string
	args               []string // the command, without -o
	show               bool     // print the command's output in the demo's
}

// demoReports runs heads, track, circuits, attention and patch on the demo
// run, writes their pages under RUN/reports and links them from
// RUN/index.html, which it returns.
func demoReports(ctx context.Context, d *demoResult, w, progress io.Writer) (string, error) {
	final := d.Checkpoints[len(d.Checkpoints)-1].Dir
	clean, corrupted, answer, wrong := inductionPatchPrompt(d)
	// The attention page shows [BOS] r r with the first 12 tokens of r.
	repeat := append(append([]int{clean[0]}, clean[1:13]...), clean[1:13]...)
	trackArgs := []string{"track", d.Dir}
	if progress == nil {
		trackArgs = append(trackArgs, "--quiet")
	}
	pages := []demoPage{
		{"Heads of the final model", "heads.html",
			"every head's scores (previous token, duplicate token, induction, prefix matching, copying) and its role",
			[]string{"heads", "--model", final}, true},
		{"Induction heads forming over training", "track.html",
			"each head's prefix matching at every checkpoint on a log axis, beside the loss curve with its bump marked",
			trackArgs, true},
		{"Circuits: why the heads work", "circuits.html",
			"OV and QK eigenvalue copying scores per head, Q-, K- and V-composition of every pair beside a random baseline",
			[]string{"circuits", "--model", final, "--top", "4"}, true},
		{"Attention explorer", "attention.html",
			"every head's attention pattern on a repeated random sequence [BOS] r r; hover and click the heads",
			[]string{"attention", "--model", final, "--tokens", joinInts(repeat)}, false},
		{"Patching: which heads carry the copied token", "patch.html",
			"activation and attribution patching between a clean induction prompt and one whose earlier copy was changed",
			[]string{"patch", "--model", final, "--tokens-mode", "--clean", joinInts(clean), "--corrupted", joinInts(corrupted),
				"--answer", strconv.Itoa(answer), "--wrong", strconv.Itoa(wrong), "--top", "4"}, true},
	}
	reports := filepath.Join(d.Dir, "reports")
	links := make([]viz.Link, 0, len(pages)+1)
	for _, p := range pages {
		var out bytes.Buffer
		args := append(p.args, "-o", filepath.Join(reports, p.file))
		errw := io.Discard
		if progress != nil {
			errw = progress
		}
		if err := runCommand(ctx, &out, errw, args...); err != nil {
			return "", fmt.Errorf("demo: mechinterp %s: %w", p.args[0], err)
		}
		fmt.Fprintf(w, "\n$ mechinterp %s -o %s\n", strings.Join(quoteArgs(p.args), " "), filepath.Join(reports, p.file))
		if p.show {
			w.Write(out.Bytes())
		} else {
			fmt.Fprintf(w, "page: %s\n", filepath.Join(reports, p.file))
		}
		links = append(links, viz.Link{Title: p.title, Path: "reports/" + p.file, Description: p.about})
	}
	index := filepath.Join(d.Dir, "index.html")
	page := viz.Index("mechinterp demo: induction heads in a 2-layer attention-only transformer", links...).
		Section("The run", fmt.Sprintf("%d training steps; %d checkpoints in checkpoints/; the per-step log in metrics.jsonl; "+
			"the per-checkpoint table in track/track.csv and track/track.jsonl; the recipe in run.yaml. "+
			"Each page above was written by the mechinterp command printed in the demo's output, "+
			"and can be rewritten or pointed at another checkpoint the same way.", d.Train.Step, len(d.Checkpoints)))
	if err := page.WriteFile(index); err != nil {
		return "", err
	}
	return index, nil
}

// runCommand runs one mechinterp command in-process, as the CLI would.
func runCommand(ctx context.Context, w, errw io.Writer, args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(w)
	root.SetErr(errw)
	return root.ExecuteContext(ctx)
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
