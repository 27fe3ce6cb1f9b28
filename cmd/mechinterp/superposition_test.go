package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/superposition"
)

func TestSuperpositionCommand(t *testing.T) {
	for _, exp := range superposition.ExperimentNames() {
		t.Run(exp, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			cfg := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(cfg, []byte("steps: 40\nbatch: 64\nsae_steps: 20\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := cli(t, "superposition", exp, "--quick", "--config", cfg, "--out", dir)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, f := range []string{"results.json", "report.html"} {
				if !strings.Contains(out, "wrote "+filepath.Join(dir, f)+"\n") {
					t.Errorf("output does not name %s:\n%s", f, out)
				}
			}
			page, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<title>Superposition: " + exp + "</title>", `id="mi-data-results"`, `class="mi-chart"`, "<figcaption>"} {
				if !bytes.Contains(page, []byte(want)) {
					t.Errorf("report.html lacks %s", want)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			var res superposition.ExperimentResult
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			if res.Experiment != exp || res.Config.Steps != 40 {
				t.Errorf("results.json: experiment %q steps %d", res.Experiment, res.Config.Steps)
			}
			if res.Instances == nil && res.Sweep == nil && res.Phases == nil && res.SAE == nil {
				t.Error("results.json holds no result")
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestSuperpositionBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("features: [1\n"), 0o644)
	unknown := filepath.Join(t.TempDir(), "unknown.yaml")
	os.WriteFile(unknown, []byte("featurez: 3\n"), 0o644)
	badModel := filepath.Join(t.TempDir(), "model.yaml")
	os.WriteFile(badModel, []byte("model: cubic\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"superposition", "nope"}, "unknown experiment"},
		{[]string{"superposition", "linear", "--config", bad}, "reading config file"},
		{[]string{"superposition", "linear", "--config", unknown}, "featurez"},
		{[]string{"superposition", "linear", "--config", badModel, "--quick"}, "unknown model"},
		{[]string{"superposition", "linear", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{[]string{"superposition"}, "arg"},
	} {
		out := filepath.Join(t.TempDir(), "o")
		_, err := cli(t, append(tc.args, "--out", out)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", tc.args, err, tc.want)
		}
		if _, statErr := os.Stat(filepath.Join(out, "results.json")); statErr == nil {
			t.Errorf("%v: results.json written despite the error", tc.args)
		}
	}
}

func TestSuperpositionPrintConfig(t *testing.T) {
	out, err := cli(t, "superposition", "pentagon", "--print-config")
	if err != nil || !strings.Contains(out, "features: 5") {
		t.Errorf("print-config: %v %q", err, out)
	}
}
