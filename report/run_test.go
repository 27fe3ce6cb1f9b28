package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/circuits"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
	"github.com/mechinterp/mechinterp/train"
)

// TestRunIndex: the index of a run links the pages present under reports/, in RunPages'
// order, and says where the rest of the run lies; a run without pages is an error.
func TestRunIndex(t *testing.T) {
	dir := t.TempDir()
	c := run.DemoConfig()
	if err := run.WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	testmodel.Save(t, train.StepDir(dir, 120), models.Config{NLayers: 1, NHeads: 1, DModel: 8, NCtx: 8, DVocab: 8, AttnOnly: true})
	if _, err := RunIndex(dir, ""); err == nil || !strings.Contains(err.Error(), "no page in") {
		t.Errorf("a run without pages: error %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, run.ReportsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"patch.html", "heads.html"} {
		if err := os.WriteFile(filepath.Join(dir, run.ReportsDir, f), []byte("<!DOCTYPE html>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := RunIndex(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	page := mustHTML(t, r)
	var hrefs []string
	for _, m := range regexp.MustCompile(`<a href="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		hrefs = append(hrefs, m[1])
	}
	if got := strings.Join(hrefs, " "); got != "reports/heads.html reports/patch.html" {
		t.Errorf("links %s, want heads then patch", got)
	}
	for _, want := range []string{
		"<title>mechinterp demo: induction heads in a 2-layer attention-only transformer</title>",
		"120 training steps; 1 checkpoints in checkpoints/; the per-step log in metrics.jsonl",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index lacks %q", want)
		}
	}
}

// TestHeadline: the index's headline names the induction heads with their prefix matching,
// when each formed beside the bump, their OV copying and the previous-token heads; with no
// induction head it says so and names the best head.
func TestHeadline(t *testing.T) {
	s := &probes.HeadScores{Layers: 2, Heads: 2, HeadMaps: probes.HeadMaps{
		PrefixMatching: [][]float64{{0.01, 0.02}, {0.81, 0.12}},
		PreviousToken:  [][]float64{{0.05, 0.72}, {0.01, 0.02}},
		Roles:          [][]string{{probes.RoleNone, probes.RolePreviousToken}, {probes.RoleInduction, probes.RoleNone}}}}
	s.Options.Thresholds = s.Options.Thresholds.WithDefaults()
	tr := &probes.TrackResult{Threshold: 0.4, Bump: probes.Bump{Found: true, Step: 881},
		Formation: []probes.Formation{{Layer: 1, Head: 0, Formed: true, Step: 900, Final: 0.81}, {Layer: 1, Head: 1, Step: -1}}}
	a := &circuits.Analysis{Heads: []circuits.HeadSummary{
		{Head: models.Head{Layer: 1, Head: 0}, OVCopying: 0.9987}, {Head: models.Head{Layer: 1, Head: 1}, OVCopying: 0.5}}}
	got := Headline(s, tr, a)
	for _, want := range []string{"1 induction head, by prefix matching ≥ 0.4 on the heads page: L1H0 (0.810).",
		"L1H0 at step 900; the loss bump is at step 881.", "OV copying score L1H0 +0.999", "Previous-token head, whose output induction heads' keys read: L0H1 (0.720)."} {
		if !strings.Contains(got, want) {
			t.Errorf("headline %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "L1H1") {
		t.Errorf("headline %q names a head that is not an induction head", got)
	}
	// Two heads formed at one step: said once.
	s.Roles[1][1], s.PrefixMatching[1][1] = probes.RoleInduction, 0.6
	tr.Formation[1] = probes.Formation{Layer: 1, Head: 1, Formed: true, Step: 900, Final: 0.6}
	if got := Headline(s, tr, a); !strings.Contains(got, "They formed (prefix matching stays ≥ 0.4 from then on): all at step 900; the loss bump is at step 881.") {
		t.Errorf("two heads formed at step 900: %q", got)
	}
	s.Roles[1][1], s.PrefixMatching[1][1] = probes.RoleNone, 0.12
	s.Roles[1][0] = probes.RoleNone
	s.PrefixMatching[1][0] = 0.3
	if got := Headline(s, tr, a); got != "No induction head: no head reaches prefix matching 0.4 (the best, L1H0, scores 0.300)." {
		t.Errorf("no induction head: %q", got)
	}
}
