package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyStudy() StudyConfig {
	return StudyConfig{Sizes: []int{8}, Objectives: []Objective{Preference, Imitation}, Comparisons: 200, Steps: 5,
		Finetune: []int{50}, FinetuneSteps: 5, FinetuneSize: 8, PretrainComparisons: 100, PretrainSteps: 5, EvalComparisons: 50}
}

// TestStudyShardsAndResume runs a tiny study in two shards, then again:
// every cell runs once, a torn last line is ignored and rerun, and the
// pre-trained model is saved for the finetuning cells.
func TestStudyShardsAndResume(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyStudy()
	if _, err := RunStudy(cfg, dir, 0, 2, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := RunStudy(cfg, dir, 1, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	cells := cfg.WithDefaults().Cells()
	if len(cells) != 4 || len(rows) != 4 {
		t.Fatalf("%d cells, %d rows", len(cells), len(rows))
	}
	if _, err := LoadPrefModel(filepath.Join(dir, PretrainedDir)); err != nil {
		t.Errorf("pre-trained model: %v", err)
	}
	path := filepath.Join(dir, StudyRowsFile)
	before, _ := os.ReadFile(path)
	// Drop the last row and leave half of it, as an interrupted append does.
	cut := len(before) - 10
	if err := os.WriteFile(path, before[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err = RunStudy(cfg, dir, 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Errorf("after resuming: %d rows, want 4", len(rows))
	}
	mid, _ := os.ReadFile(path)
	again, _ := RunStudy(cfg, dir, 0, 1, nil)
	after, _ := os.ReadFile(path)
	if len(again) != 4 || string(after) != string(mid) {
		t.Errorf("a rerun of a finished study changed it: %d rows", len(again))
	}
	other := cfg
	other.Steps = 6
	if _, err := RunStudy(other, dir, 0, 1, nil); err == nil || !strings.Contains(err.Error(), "another config") {
		t.Errorf("resuming under another config: %v", err)
	}
	if _, err := RunStudy(cfg, dir, 2, 2, nil); err == nil {
		t.Error("shard 2/2: want an error")
	}
}
