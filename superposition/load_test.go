package superposition

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadExperimentConfig: a file's keys replace the ready config's, the extra keys are let
// through, unknown keys and experiments are errors, and Quick shrinks what it loaded.
func TestLoadExperimentConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("steps: 1234\nout: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ready, err := LoadExperimentConfig("relu", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadExperimentConfig("relu", file, []string{"out"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Steps != 1234 || c.Features != ready.Features || c.Features == 0 {
		t.Errorf("steps %d features %d, want 1234 and the ready config's %d", c.Steps, c.Features, ready.Features)
	}
	if _, err := LoadExperimentConfig("relu", file, nil); err == nil || !strings.Contains(err.Error(), "out") {
		t.Errorf("unknown key out: error %v", err)
	}
	if _, err := LoadExperimentConfig("nope", "", nil); err == nil {
		t.Error("unknown experiment accepted")
	}
	c.Quick()
	if c.Steps != 300 || c.Seeds > 2 || len(c.Densities) > 3 || c.Features > 40 {
		t.Errorf("quick: steps %d seeds %d densities %d features %d", c.Steps, c.Seeds, len(c.Densities), c.Features)
	}
}
