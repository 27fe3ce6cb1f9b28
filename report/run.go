package report

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

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
// a link to each of RunPages present in RUN/reports, and where the rest of the run lies.
// A run with no such page is an error.
func RunIndex(dir string) (*viz.Report, error) {
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
	return viz.Index(title, links...).
		Section("The run", fmt.Sprintf("%d training steps; %d checkpoints in %s/; the per-step log in %s; "+
			"the per-checkpoint table in %s/track.csv and %s/track.jsonl; the recipe in %s. "+
			"Each page above was written by the mechinterp command printed in the demo's output, "+
			"and can be rewritten or pointed at another checkpoint the same way.",
			last.Step, len(r.Checkpoints), run.CheckpointsDir, run.MetricsFile, run.TrackDir, run.TrackDir, run.ConfigFile)), nil
}
