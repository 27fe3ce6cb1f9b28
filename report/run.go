package report

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/viz"
)

// RunPage is one page about a training run, kept under RUN/reports (run.ReportsDir).
type RunPage struct {
	File, Title, About string
}

// RunPages are the pages a run's index links, in this order, when they exist: the pages of
// heads, track, circuits, attention and patch, as the demo writes them.
var RunPages = []RunPage{
	{"heads.html", "Heads of the final model",
		"every head's scores (previous token, duplicate token, induction, prefix matching, copying) and its role"},
	{"track.html", "Induction heads forming over training",
		"each head's prefix matching at every checkpoint on a log axis, beside the loss curve with its bump marked"},
	{"circuits.html", "Circuits: why the heads work",
		"OV and QK eigenvalue copying scores per head, Q-, K- and V-composition of every pair beside a random baseline"},
	{"attention.html", "Attention explorer",
		"every head's attention pattern on a repeated random sequence [BOS] r r; hover and click the heads"},
	{"patch.html", "Patching: which heads carry the copied token",
		"activation and attribution patching between a clean induction prompt and one whose earlier copy was changed"},
}

// RunIndex builds the index page of the run in dir (written to RUN/index.html, run.IndexFile):
// headline (Headline; none when "") above a link to each of RunPages present in RUN/reports,
// and where the rest of the run lies. A run with no such page is an error.
func RunIndex(dir, headline string) (*viz.Report, error) {
	r, err := run.Open(dir)
	if err != nil {
		return nil, err
	}
	var links []viz.Link
	for _, p := range RunPages {
		if _, err := os.Stat(filepath.Join(dir, run.ReportsDir, p.File)); err == nil {
			links = append(links, viz.Link{Title: p.Title, Path: path.Join(run.ReportsDir, p.File), Description: p.About})
		}
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("run index: no page in %s", filepath.Join(dir, run.ReportsDir))
	}
	last, ok := r.Latest()
	if !ok {
		return nil, errors.New("run index: the run has no checkpoint")
	}
	title := "mechinterp run " + filepath.Base(filepath.Clean(dir))
	if c := r.Config; c != nil {
		kind := "transformer"
		if c.Model.AttnOnly {
			kind = "attention-only transformer"
		}
		title = fmt.Sprintf("mechinterp demo: induction heads in a %d-layer %s", c.Model.NLayers, kind)
	}
	idx := viz.Index(title, links...)
	if headline != "" {
		idx.Section("What the run found", headline)
	}
	return idx.
		Section("The run", fmt.Sprintf("%d training steps; %d checkpoints in %s/; the per-step log in %s; "+
			"the per-checkpoint table in %s/track.csv and %s/track.jsonl; the recipe in %s. "+
			"Each page above was written by the mechinterp command printed in the demo's output, "+
			"and can be rewritten or pointed at another checkpoint the same way.",
			last.Step, len(r.Checkpoints), run.CheckpointsDir, run.MetricsFile, run.TrackDir, run.TrackDir, run.ConfigFile)), nil
}

// Headline says what a run found, from its results: which heads are induction heads (roles of
// s, with their prefix matching), when each formed and where the loss bump is (tr; nil: not
// said) and how strongly each copies what it attends to (the OV copying score of a; nil: not
// said), and the previous-token heads whose output their keys read.
func Headline(s *probes.HeadScores, tr *probes.TrackResult, a *circuits.Analysis) string {
	if s == nil || s.Layers == 0 {
		return ""
	}
	var ind, prev []models.Head
	best := models.Head{}
	for l := range s.Layers {
		for h := range s.Heads {
			switch s.Roles[l][h] {
			case probes.RoleInduction:
				ind = append(ind, models.Head{Layer: l, Head: h})
			case probes.RolePreviousToken:
				prev = append(prev, models.Head{Layer: l, Head: h})
			}
			if s.PrefixMatching[l][h] > s.PrefixMatching[best.Layer][best.Head] {
				best = models.Head{Layer: l, Head: h}
			}
		}
	}
	th := s.Options.Thresholds
	if len(ind) == 0 {
		return fmt.Sprintf("No induction head: no head reaches prefix matching %g (the best, %s, scores %.3f).",
			th.PrefixMatching, best, s.PrefixMatching[best.Layer][best.Head])
	}
	var b strings.Builder
	names := make([]string, len(ind))
	for i, h := range ind {
		names[i] = fmt.Sprintf("%s (%.3f)", h, s.PrefixMatching[h.Layer][h.Head])
	}
	fmt.Fprintf(&b, "%d induction head%s, by prefix matching ≥ %g on the heads page: %s.", len(ind), plural(len(ind)), th.PrefixMatching, strings.Join(names, ", "))
	if tr != nil {
		var formed []string
		steps := map[int]int{} // formation step -> heads
		for _, h := range ind {
			for _, f := range tr.Formation {
				if f.Layer == h.Layer && f.Head == h.Head {
					if f.Formed {
						formed = append(formed, fmt.Sprintf("%s at step %d", h, f.Step))
						steps[f.Step]++
					} else {
						formed = append(formed, fmt.Sprintf("%s not yet over the track threshold", h))
					}
				}
			}
		}
		if len(ind) > 1 && len(steps) == 1 && len(formed) == len(ind) {
			for st := range steps {
				formed = []string{fmt.Sprintf("all at step %d", st)}
			}
		}
		if len(formed) > 0 {
			fmt.Fprintf(&b, " They formed (prefix matching stays ≥ %g from then on): %s", tr.Threshold, strings.Join(formed, ", "))
			if tr.Bump.Found {
				fmt.Fprintf(&b, "; the loss bump is at step %d", tr.Bump.Step)
			}
			b.WriteString(".")
		}
	}
	if a != nil {
		var cp []string
		for _, h := range ind {
			for _, hs := range a.Heads {
				if hs.Head == h {
					cp = append(cp, fmt.Sprintf("%s %+.3f", h, hs.OVCopying))
				}
			}
		}
		if len(cp) > 0 {
			fmt.Fprintf(&b, " They copy what they attend to: OV copying score %s (+1: attending to a token raises its own logit).", strings.Join(cp, ", "))
		}
	}
	if len(prev) > 0 {
		names := make([]string, len(prev))
		for i, h := range prev {
			names[i] = fmt.Sprintf("%s (%.3f)", h, s.PreviousToken[h.Layer][h.Head])
		}
		fmt.Fprintf(&b, " Previous-token head%s, whose output induction heads' keys read: %s.", plural(len(prev)), strings.Join(names, ", "))
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
