package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
)

func TestHeadsCommand(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig) // 2 layers × 2 heads, n_ctx 8, vocab 20
	html := filepath.Join(t.TempDir(), "heads.html")
	out, err := cli(t, "heads", "--model", dir, "-o", html, "--batch", "8")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"2 layers × 2 heads", "|r| = 3", "L0H0", "L1H1", "induction loss", "report: " + html} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(html); err != nil {
		t.Fatal(err)
	}

	// --json holds what probes.Heads computes.
	js, err := cli(t, "heads", "--model", dir, "-o", "", "--batch", "8", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got probes.HeadScores
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	m, _ := models.Load(dir)
	want, err := probes.Heads(m, probes.HeadOptions{Repeat: probes.RepeatOptions{Batch: 8, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.PrefixMatching, want.PrefixMatching) || !reflect.DeepEqual(got.Roles, want.Roles) || got.Layers != 2 {
		t.Errorf("--json %+v\nwant %+v", got, want)
	}

	// Detector prompts of one's own, BOS excluded.
	js, err = cli(t, "heads", "--model", dir, "-o", "", "--json", "--tokens", "1,2,3,1,2,3;4,5,4,5,4,5", "--exclude-bos")
	if err != nil {
		t.Fatal(err)
	}
	got = probes.HeadScores{}
	json.Unmarshal([]byte(js), &got)
	d, _ := probes.Detect(m, []int{1, 2, 3, 1, 2, 3, 4, 5, 4, 5, 4, 5}, 2, 6, probes.DuplicateToken, probes.DetectOptions{ExcludeBOS: true})
	if !reflect.DeepEqual(got.DuplicateToken, d) || !got.Options.Detect.ExcludeBOS {
		t.Errorf("duplicate-token scores %v, Detect %v", got.DuplicateToken, d)
	}
}

// TestHeadsTokenRangeFromRun: a checkpoint inside a run whose data is the
// synthetic language draws r from the language's middle ranks.
func TestHeadsTokenRangeFromRun(t *testing.T) {
	run := t.TempDir()
	writeFile(t, run, "run.yaml", "model:\n  d_vocab: 20\ndata:\n  kind: synthetic\n  synthetic:\n    vocab: 20\n")
	m, _ := models.New(tinyConfig)
	dir := filepath.Join(run, "checkpoints", "step-000000")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	js, err := cli(t, "heads", "--model", dir, "-o", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got probes.HeadScores
	json.Unmarshal([]byte(js), &got)
	want := data.SyntheticConfig{Vocab: 20}.EvalRepeated(3, 2)
	if got.Options.Repeat.MinToken != want.MinToken || got.Options.Repeat.MaxToken != want.MaxToken || want.MinToken == 0 {
		t.Errorf("token range [%d, %d), want [%d, %d)", got.Options.Repeat.MinToken, got.Options.Repeat.MaxToken, want.MinToken, want.MaxToken)
	}
}

// TestHeadsReportFile: the command writes the heads page with its six charts; the page itself
// is checked in a browser in package report.
func TestHeadsReportFile(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	html := filepath.Join(t.TempDir(), "heads.html")
	if out, err := cli(t, "heads", "--model", dir, "-o", html); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := pageCharts(t, html); n != 6 {
		t.Errorf("%d charts, want 6", n)
	}
}

// pageCharts reads a page a command wrote and returns its number of charts, failing the test
// unless it is a whole page (what it shows is tested in package report).
func pageCharts(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</html>")) {
		t.Fatalf("%s is not a whole HTML page", path)
	}
	return bytes.Count(b, []byte(`class="mi-chart"`))
}

func TestHeadsBadInput(t *testing.T) {
	dir := testmodel.Checkpoint(t, tinyConfig)
	file := writeFile(t, t.TempDir(), "notadir", "x")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"heads"}, "--model is required"},
		{"model is a file", []string{"heads", "--model", file}, "notadir"},
		{"prompt longer than the context", []string{"heads", "--model", dir, "--tokens", "1,2,3,4,5,6,7,8,9"}, "exceed the context length n_ctx=8"},
		{"repeats longer than the context", []string{"heads", "--model", dir, "--len", "4"}, "exceed the context n_ctx=8"},
		{"token out of range", []string{"heads", "--model", dir, "--tokens", "1,99"}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, append(tc.args, "-o", filepath.Join(t.TempDir(), "h.html"))...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
}
