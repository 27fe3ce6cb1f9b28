package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
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
	if _, err := RunIndex(dir); err == nil || !strings.Contains(err.Error(), "no page in") {
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
	r, err := RunIndex(dir)
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
