package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
)

func TestCircuitsCommand(t *testing.T) {
	cfg := tinyConfig
	cfg.InitializerRange = 0.3
	dir := testmodel.Checkpoint(t, cfg)
	html := filepath.Join(t.TempDir(), "c.html")
	out, err := cli(t, "circuits", "--model", dir, "-o", html, "--top", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OV copying", "L1H1", "K-composition:", "random baseline", "report: " + html} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if pageCharts(t, html) == 0 {
		t.Errorf("%s has no chart", html)
	}

	js, err := cli(t, "circuits", "--model", dir, "--json", "-o", "")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Heads []struct {
			Layer, Head int
			OVCopying   *float64 `json:"ov_copying"`
		}
		Composition []struct {
			Kind   string
			Scores [][]*float64
		}
		Report string
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("%v:\n%s", err, js)
	}
	if len(got.Heads) != 4 || got.Heads[0].OVCopying == nil || len(got.Composition) != 3 || got.Composition[1].Kind != "K" {
		t.Errorf("unexpected JSON: %+v", got)
	}
	// Earlier -> later pairs are scored, the others are null.
	if s := got.Composition[1].Scores; s[0][2] == nil || s[2][0] != nil || s[0][1] != nil {
		t.Errorf("composition matrix %v", s)
	}
	if got.Report != "" {
		t.Errorf("-o \"\" still names report %q", got.Report)
	}
}

func TestCircuitsBadInput(t *testing.T) {
	notCheckpoint := t.TempDir()
	if err := os.WriteFile(filepath.Join(notCheckpoint, "config.json"), []byte(`{"model_type": "bert"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"circuits"}, "--model"},
		{"missing directory", []string{"circuits", "--model", filepath.Join(t.TempDir(), "nope")}, "nope"},
		{"not a checkpoint", []string{"circuits", "--model", notCheckpoint}, notCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, tc.args...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
}
