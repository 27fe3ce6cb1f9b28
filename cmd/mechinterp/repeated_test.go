package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/study/repeated"
	"github.com/mechinterp/mechinterp/train"
)

// tinyStudyYAML is a study that trains in seconds: an f = 0 family of three
// widths and f = 0.5 at two E for an attention-only and an MLP model. The
// other keys come from the default study.
const tinyStudyYAML = `name: tiny
model: {n_ctx: 24, n_heads: 2}
data: {synthetic: {vocab: 24, min_span: 3, max_span: 6}}
train: {steps: 24, batch_size: 4, warmup: 4, checkpoints: {log_per_doubling: 1, every: 0}}
eval: {held_out: 16, subset_sample: 8, copies: 3, passages: 8, prompts: 8}
sizes: [{name: a, d_model: 8}, {name: b, d_model: 12}, {name: c, d_model: 16}]
grids:
  - {fractions: [0], sizes: [a, b, c], archs: [attn2], seeds: [1]}
  - {fractions: [0.5], epochs: [2, 8], sizes: [b], archs: [attn2, mlp2], seeds: [1]}
`

// TestRepeatedTiny runs the tiny study as a user would, checks the table
// (every column for every checkpoint of every run), opens the report in
// Chromium, and checks that two shards into one directory give the same
// table as one process, with no run done twice.
func TestRepeatedTiny(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tiny.yaml", tinyStudyYAML)
	out := filepath.Join(dir, "study")
	stdout, err := cli(t, "repeated", "--config", cfg, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, want := range []string{`study "tiny": 8 of 8 runs have results`, "f0.5-E8-b-mlp2-s1", "damage peak, f=0.5 attn2 b", "report: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	table := readCSV(t, filepath.Join(out, repeated.ResultsCSV))
	header := table[0]
	const checkpoints = 6 // steps 0, 1, 2, 4, 8, 16 and 24: log spacing and the last
	if got := len(table) - 1; got != 8*(checkpoints+1) {
		t.Fatalf("results.csv has %d rows, want 8 runs × %d checkpoints", got, checkpoints+1)
	}
	for _, rec := range table[1:] {
		run, step := rec[0], rec[slices.Index(header, "step")]
		for j, v := range rec {
			col := header[j]
			optional := (col == "repeated_loss" && strings.HasPrefix(run, "f0-")) || (col == "train_loss" && step == "0")
			if v == "" && !optional {
				t.Errorf("run %s step %s: column %s is empty", run, step, col)
			}
		}
	}

	// Two shards of the same study into another directory: the same table.
	sharded := filepath.Join(dir, "sharded")
	for _, sh := range []string{"0/2", "1/2"} {
		if s, err := cli(t, "repeated", "--config", cfg, "--out", sharded, "--shard", sh, "--quiet"); err != nil {
			t.Fatalf("shard %s: %v\n%s", sh, err, s)
		}
	}
	stdout, err = cli(t, "repeated", "report", sharded)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	a, _ := os.ReadFile(filepath.Join(out, repeated.ResultsJSONL))
	b, _ := os.ReadFile(filepath.Join(sharded, repeated.ResultsJSONL))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("the two shards' merged results.jsonl (%d bytes) differ from the single run's (%d bytes)", len(b), len(a))
	}
	// --json prints the analysis; -o puts the report elsewhere.
	other := filepath.Join(dir, "elsewhere.html")
	js, err := cli(t, "repeated", "report", sharded, "--json", "-o", other)
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	var an repeated.Analysis
	if err := json.Unmarshal([]byte(js), &an); err != nil || len(an.Runs) != 8 || an.Planned != 8 {
		t.Errorf("report --json: %v, %d runs of %d planned", err, len(an.Runs), an.Planned)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("report -o: %v", err)
	}
	// Running again skips every run.
	stdout, err = cli(t, "repeated", "--config", cfg, "--out", out)
	if err != nil || strings.Count(stdout, "already complete") != 8 {
		t.Errorf("second run: %v\n%s", err, stdout)
	}

	// The page is opened in a browser in package report; here the command wrote it whole.
	if pageCharts(t, filepath.Join(out, "report.html")) == 0 {
		t.Error("the study's page has no chart")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRepeatedBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{"unknown key", "grids: [{fractions: [0], sizes: [s], archs: [attn2], seeds: [1], epoch: [2]}]\n", nil, `invalid keys: epoch`},
		{"f out of range", "grids: [{fractions: [1.5], epochs: [2], sizes: [s], archs: [attn2], seeds: [1]}]\n", nil, "fraction 1.5 is outside [0, 1)"},
		{"undefined size", "grids: [{fractions: [0], sizes: [xl], archs: [attn2], seeds: [1]}]\n", nil, `size "xl" is not defined`},
		{"malformed yaml", "grids: [\n", nil, "reading config file"},
		{"bad shard", "", []string{"--shard", "2/2"}, "want i/n with 0 <= i < n"},
		{"missing config", "-", nil, "reading config file"},
		{"report of a plain directory", "", []string{"report", dir}, "is not a study directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"repeated"}
			if tc.args != nil && tc.args[0] == "report" {
				args = append(args, tc.args...)
			} else {
				cfg := filepath.Join(dir, "missing.yaml")
				if tc.config != "-" {
					cfg = writeFile(t, dir, "c.yaml", tc.config)
				}
				args = append(args, "--config", cfg, "--out", filepath.Join(dir, "out"))
				args = append(args, tc.args...)
			}
			_, stderr, code := runBinary(t, args...)
			assertCleanFailure(t, stderr, code, tc.want)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed study left a directory behind")
	}
}

// TestJobFiles runs the command of each sample job file (docs/jobs) as the
// scheduler would, with the task's index filled in, on the tiny study: the
// files stay in step with the CLI's flags.
func TestJobFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tiny.yaml", tinyStudyYAML)
	for _, tc := range []struct {
		file string
		env  map[string]string
	}{
		{"repeated-slurm.sh", map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_CPUS_PER_TASK": "2",
			"CONFIG": cfg, "STUDY_DIR": filepath.Join(dir, "slurm")}},
		{"repeated-k8s.yaml", map[string]string{"JOB_COMPLETION_INDEX": "1"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "docs", "jobs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			text := strings.ReplaceAll(string(b), "\\\n", " ")
			i := strings.Index(text, "\nmechinterp repeated ")
			if i < 0 {
				i = strings.Index(text, "mechinterp repeated --")
			}
			if i < 0 {
				t.Fatal("no mechinterp repeated command in the file")
			}
			line := text[i:]
			if j := strings.Index(line[1:], "\n"); j >= 0 && strings.HasSuffix(tc.file, ".sh") {
				line = line[:j+1]
			} else if strings.HasSuffix(tc.file, ".yaml") {
				// The folded args block: the command and its continuation line.
				lines := strings.SplitN(strings.TrimSpace(line), "\n", 3)
				line = lines[0] + " " + lines[1]
				if !strings.Contains(string(b), "completions: 8") || !strings.Contains(line, "/8\"") {
					t.Errorf("the job's completions and the shard count of its command differ")
				}
				line = strings.NewReplacer("/config/study.yaml", cfg, "/studies/repeated", filepath.Join(dir, "k8s")).Replace(line)
			}
			line = os.Expand(line, func(k string) string { return tc.env[k] })
			var args []string
			for _, f := range strings.Fields(line) {
				args = append(args, strings.Trim(f, `"`))
			}
			if len(args) < 3 || args[0] != "mechinterp" {
				t.Fatalf("command %q", line)
			}
			out, err := cli(t, args[1:]...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(out, "1 of 8 runs have results") {
				t.Errorf("%s: want one run of the tiny study done:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}

// TestRepeatedInterruptBinary sends SIGINT to a real study process in the
// middle of training: it stops with one line saying how to resume, and the
// same command then finishes the study with the table of an uninterrupted
// one.
func TestRepeatedInterruptBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	dir := t.TempDir()
	// One run, long enough to be caught in the middle.
	cfg := writeFile(t, dir, "one.yaml", tinyStudyYAML[:strings.Index(tinyStudyYAML, "grids:")]+
		"grids: [{fractions: [0.5], epochs: [4], sizes: [a], archs: [attn2], seeds: [1]}]\n")
	env := append(os.Environ(), "MECHINTERP_TRAIN_STEPS=2000")
	whole := filepath.Join(dir, "whole")
	c := exec.Command(bin, "repeated", "--config", cfg, "--out", whole, "--quiet")
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted study: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "study")
	cmd := exec.Command(bin, "repeated", "--config", cfg, "--out", out, "--quiet")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := repeated.RunDir(out, "f0.5-E4-a-attn2-s1")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(train.StepDir(rd, 64)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint at step 64 after 60 s")
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("interrupted study: %v (stderr %q)", err, stderr.String())
	}
	assertCleanFailure(t, stderr.String(), ee.ExitCode(), "run the same command again to resume")
	if latest, ok, _ := train.Latest(rd); !ok || latest.Step < 64 || latest.Step >= 2000 {
		t.Fatalf("latest checkpoint after the interrupt: %+v", latest)
	}
	c = exec.Command(bin, "repeated", "--config", cfg, "--out", out)
	c.Env = env
	if msg, err := c.CombinedOutput(); err != nil || !strings.Contains(string(msg), "resuming from step") {
		t.Fatalf("resumed study: %v\n%s", err, msg)
	}
	// The interruption's extra checkpoint adds a row; every other row is equal.
	a := readCSV(t, filepath.Join(whole, repeated.ResultsCSV))
	b := readCSV(t, filepath.Join(out, repeated.ResultsCSV))
	step := slices.Index(a[0], "step")
	sched := map[string]bool{}
	for _, rec := range a[1:] {
		sched[rec[step]] = true
	}
	b = slices.DeleteFunc(b, func(rec []string) bool { return rec[step] != "step" && !sched[rec[step]] })
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the resumed study's table differs from the uninterrupted one's")
	}
}

// TestRepeatedDefaultConfig: the shipped study loads, validates, and has
// what the issue asks of it: an f = 0 family of at least three sizes, a log
// grid of E at f > 0, a 1-layer control and a model with MLPs.
func TestRepeatedDefaultConfig(t *testing.T) {
	out, err := cli(t, "repeated", "--print-config")
	if err != nil || !strings.Contains(out, "grids:") {
		t.Fatalf("--print-config: %v\n%s", err, out)
	}
	s, err := repeated.LoadStudy("")
	if err != nil {
		t.Fatal(err)
	}
	sizes, epochs, layers := map[string]bool{}, map[int]bool{}, map[string]bool{}
	for _, r := range s.Runs() {
		mc, err := s.ModelConfig(r, 128)
		if err != nil {
			t.Fatal(err)
		}
		if r.Fraction == 0 && r.Arch == "attn2" {
			sizes[r.Size] = true
		}
		if r.Fraction > 0 {
			epochs[r.Epochs] = true
		}
		layers[fmt.Sprintf("%d layers, attn_only %v", mc.NLayers, mc.AttnOnly)] = true
	}
	if len(sizes) < 3 || len(epochs) < 4 {
		t.Errorf("default study: f = 0 sizes %v, epochs %v; want at least 3 sizes and 4 values of E", sizes, epochs)
	}
	for _, want := range []string{"1 layers, attn_only true", "2 layers, attn_only true", "2 layers, attn_only false"} {
		if !layers[want] {
			t.Errorf("default study has no %s model: %v", want, layers)
		}
	}
}

// TestRepeatedText runs a small study on a text corpus: the mixture reads
// it in windows that never overlap, and every measurement works without a
// BOS token.
func TestRepeatedText(t *testing.T) {
	dir := t.TempDir()
	var corpus strings.Builder
	words := strings.Fields("the cat sat on a mat while the dog ran to the park and back again every day")
	for i := range 4000 {
		corpus.WriteString(words[(i*7+i/13)%len(words)])
		corpus.WriteByte(' ')
	}
	text := writeFile(t, dir, "corpus.txt", corpus.String())
	cfg := writeFile(t, dir, "text.yaml", `name: text
model: {n_ctx: 24, n_heads: 2}
data: {kind: text, text: {paths: [`+text+`]}}
train: {steps: 24, batch_size: 4, warmup: 4, checkpoints: {log_per_doubling: 1, every: 0}}
eval: {held_out: 16, subset_sample: 8, copies: 3, passages: 8, prompts: 8}
sizes: [{name: a, d_model: 8}]
grids: [{fractions: [0.5], epochs: [4], sizes: [a], archs: [attn2], seeds: [1]}]
`)
	out := filepath.Join(dir, "study")
	stdout, err := cli(t, "repeated", "--config", cfg, "--out", out, "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "2 of 2 runs have results") {
		t.Errorf("output:\n%s", stdout)
	}
	table := readCSV(t, filepath.Join(out, repeated.ResultsCSV))
	if len(table) != 1+2*7 {
		t.Errorf("results.csv has %d rows, want 2 runs × 7 checkpoints", len(table)-1)
	}
	// A corpus too small for the layout is one clear error.
	small := writeFile(t, dir, "small.txt", "too short")
	bad := writeFile(t, dir, "bad.yaml", strings.Replace(readFileString(t, cfg), text, small, 1))
	_, stderr, code := runBinary(t, "repeated", "--config", bad, "--out", filepath.Join(dir, "bad"), "--quiet")
	assertCleanFailure(t, stderr, code, "2 of 2 runs failed")
	if !strings.Contains(stderr, "windows") {
		t.Errorf("small corpus: stderr %q does not say how many windows the corpus holds", stderr)
	}
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
