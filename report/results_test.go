package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/superposition"
)

// TestSuperpositionReportFailure: when the report cannot be built, results.json is still
// written whole, no report.html or temporary file is left, and the error is one line naming
// the results.
func TestSuperpositionReportFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var out bytes.Buffer
	err := WriteSuperposition(&out, dir, &superposition.ExperimentResult{Experiment: "linear"})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), filepath.Join(dir, "results.json")) {
		t.Fatalf("error %v, want one line naming results.json", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "results.json" {
		t.Errorf("files %v, want results.json only", entries)
	}
	if out.String() != "wrote "+filepath.Join(dir, "results.json")+"\n" {
		t.Errorf("printed %q", out.String())
	}
}
