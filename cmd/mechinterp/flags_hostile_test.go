package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// numericTypes are the pflag types the flag table exercises.
var numericTypes = []string{"int", "int64", "uint", "uint64", "float32", "float64", "intSlice", "float64Slice"}

// hostileValues are the values every numeric flag is given.
var hostileValues = []string{"0", "-1", "4611686018427387904"}

// TestEveryNumericFlag runs the real binary once per command, numeric flag and value (0,
// -1 and 2^62), on small valid inputs otherwise, and holds each run to the project's rule
// for bad input: it either succeeds or exits 1 with one line on stderr, never a panic or
// a runtime dump, within a bounded peak memory and time. `serve`, which serves when its
// values are fine, is stopped with SIGINT and must then print "stopped" and exit 0.
// Before, `heads --batch 100000000`, `track --batch`, `bench train` with huge sizes died
// in "fatal error: runtime: out of memory", `superposition --seeds 100000000` grew without
// limit and `--steps -1` was accepted. The commands are found by walking the command tree,
// so a new command or flag joins the table by itself; baseArgs gives each one's inputs.
func TestEveryNumericFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary a few hundred times")
	}
	bin := binary(t)
	base := baseArgs(t)
	type job struct {
		path, flag, value string
		args              []string
	}
	var jobs []job
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.HasSubCommands() || c.Name() == "help" || c.Name() == "completion" || !c.Runnable() || c.Parent() == nil {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !slices.Contains(numericTypes, f.Value.Type()) {
				return
			}
			b, ok := base[path]
			if !ok {
				t.Errorf("%s has numeric flags (--%s) but no base arguments in baseArgs", path, f.Name)
				return
			}
			for i, args := range b.args {
				if r, ok := b.reads[i]; ok && !slices.Contains(r, f.Name) {
					continue
				}
				for _, v := range hostileValues {
					if slices.Contains(b.skip, f.Name+"="+v) {
						continue
					}
					jobs = append(jobs, job{path, f.Name, v, append(append(strings.Fields(path), args...), "--"+f.Name+"="+v)})
				}
			}
		})
	}
	walk(newRootCmd())

	const maxRSS = 1 << 30 // bytes
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	start := time.Now()
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("%s --%s=%s", j.path, j.flag, j.value)
			r := runHostile(t, bin, j.path == "serve", j.args)
			switch {
			case r.timedOut:
				t.Errorf("%s: still running after %v", name, hostileTimeout)
			case strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "fatal error"):
				t.Errorf("%s: crashed (exit %d):\n%.600s", name, r.code, r.stderr)
			case r.code == 1 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0:
				t.Errorf("%s: exit 1 with %d lines on stderr:\n%.600s", name, strings.Count(strings.TrimSpace(r.stderr), "\n")+1, r.stderr)
			case r.code != 0 && r.code != 1:
				t.Errorf("%s: exit %d:\n%.600s", name, r.code, r.stderr)
			case r.serving && (r.code != 0 || !strings.Contains(r.stdout, "stopped")):
				t.Errorf("%s: after SIGINT exit %d, stdout %q, want 0 and \"stopped\"", name, r.code, r.stdout)
			}
			if r.maxRSS > maxRSS {
				t.Errorf("%s: peak RSS %d MiB, over the bound of %d MiB", name, r.maxRSS>>20, maxRSS>>20)
			}
			if testing.Verbose() {
				t.Logf("%-60s exit %d %4d MiB %6.2fs %.120s", name, r.code, r.maxRSS>>20, r.elapsed.Seconds(), strings.TrimSpace(r.stderr))
			}
		}()
	}
	wg.Wait()
	t.Logf("%d runs in %v", len(jobs), time.Since(start).Round(time.Millisecond))
}

const hostileTimeout = 20 * time.Second

type hostileResult struct {
	stdout, stderr    string
	code              int
	maxRSS            int64 // bytes
	elapsed           time.Duration
	timedOut, serving bool
}

// runHostile runs the binary in a temporary directory (so that the pages commands write
// land there). With serve, a process that starts serving is sent SIGINT.
func runHostile(t *testing.T, bin string, serve bool, args []string) hostileResult {
	ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MECHINTERP_BROWSER=")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var r hostileResult
	if serve {
		go func() {
			for ctx.Err() == nil {
				if strings.Contains(stdout.String(), "serving") {
					r.serving = true
					cmd.Process.Signal(syscall.SIGINT)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	cmd.Wait()
	r.elapsed = time.Since(began)
	r.timedOut = ctx.Err() != nil
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	return r
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hostileBase is a command's valid inputs (one run of the table per set) and the
// flag=value pairs left out, each for a reason given beside it.
type hostileBase struct {
	args [][]string
	skip []string
	// reads[i], when set, lists the only numeric flags the run of args[i] reads: the
	// table gives it just those (each other flag's run would only repeat the base run).
	reads map[int][]string
}

// baseArgs are each command's valid inputs, small enough that a run with a harmless flag
// value finishes in well under a second.
func baseArgs(t *testing.T) map[string]hostileBase {
	cfg := models.Config{NLayers: 2, NHeads: 2, DModel: 16, NCtx: 24, DVocab: 32, AttnOnly: true}
	model := testmodel.Checkpoint(t, cfg)
	runDir := filepath.Join(t.TempDir(), "run")
	testmodel.Trained(t, runDir, cfg, 4)
	pm := filepath.Join(t.TempDir(), "pm")
	if _, stderr, code := runBinary(t, "prefs", "train", "--out", pm, "--steps", "2", "--quiet"); code != 0 {
		t.Fatalf("prefs train: %s", stderr)
	}
	pm = filepath.Join(pm, "model")
	mlp := testmodel.Checkpoint(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 257, Seed: 1})
	corpus := filepath.Join(t.TempDir(), "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("the cat sat on the mat; the dog sat on the log.\n", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	saeDir := filepath.Join(t.TempDir(), "sae")
	if _, stderr, code := runBinary(t, "sae", "train", "--model", mlp, "--hook", "blocks.0.mlp.hook_post", "--data", corpus,
		"--width", "64", "--k", "4", "--steps", "20", "--batch", "16", "--buffer", "256", "--out", saeDir, "--quiet"); code != 0 {
		t.Fatalf("sae train: %s", stderr)
	}
	one := func(args ...string) hostileBase { return hostileBase{args: [][]string{args}} }
	tiny := []string{"--layers", "1", "--heads", "2", "--d-model", "8", "--vocab", "16", "--ctx", "8", "--batch", "2",
		"--steps", "1", "--m", "8", "--n", "8", "--k", "8", "--features", "4", "--hidden", "2", "--instances", "2", "--threads", "1",
		"--d-in", "8", "--d-sae", "16"}
	var bench [][]string
	for _, w := range []string{"train", "cache", "sample", "toy", "sae", "gemm"} {
		bench = append(bench, append([]string{w}, tiny...))
	}
	// peak reads --threads alone, and each run measures for a second.
	bench = append(bench, []string{"peak", "--threads", "1"})
	benchReads := map[int][]string{len(bench) - 1: {"threads"}}
	return map[string]hostileBase{
		"attention": one("--model", model, "--tokens", "1,2,3"),
		"bench":     {args: bench, reads: benchReads},
		"bestofn":   one("--policy", pm, "--pm", pm, "--samples", "4", "--prompts", "2"),
		"circuits":  one("--model", model),
		// demo --steps 0 is the demo's own length (minutes of training).
		"demo":            {args: [][]string{{}}, skip: []string{"steps=0"}},
		"eap":             one("--model", model, "--task", "induction", "--pairs", "4", "--len", "4", "--batch", "2", "--steps", "2"),
		"generate":        one("--model", model, "--tokens", "1,2,3", "--new", "3"),
		"heads":           one("--model", model, "--batch", "2", "--json"),
		"lens":            one("--model", model, "--tokens", "1,2,3"),
		"lens train":      one("--model", model, "--run", runDir, "--steps", "2", "--sequences", "8", "--held-out", "4", "--out", "tuned"),
		"ood":             one("--model", model, "--n", "20"),
		"patch":           one("--model", model, "--tokens-mode", "--clean", "1,2,3", "--corrupted", "1,2,4", "--answer", "5", "--wrong", "6"),
		"prefs attribute": one("--pm", pm, "--n", "4"),
		// prefs train --steps 0 is the config's length (minutes of training).
		"prefs train": {args: [][]string{{"--out", "pm", "--quiet"}}, skip: []string{"steps=0"}},
		"repeated":    one("--out", "study", "--shard", "1/100000"),
		"run":         one("--model", model, "--tokens", "1,2,3"),
		"serve":       one("--model", model, "--addr", "127.0.0.1:0"),
		// superposition --steps 0 is the experiment's own length (a minute of training).
		"superposition": {args: [][]string{{"relu", "--steps", "10", "--seeds", "1", "--out", "sp"}}, skip: []string{"steps=0"}},
		"track":         one("--run", runDir, "--batch", "2", "--json"),
		// --max-bytes 0 reads the whole corpus given.
		"tokenizer train": one("--data", corpus, "--vocab", "300", "--max-bytes", "4096", "--out", "tok"),
		"sae train": one("--model", mlp, "--hook", "blocks.0.mlp.hook_post", "--data", corpus, "--width", "64", "--k", "4",
			"--steps", "20", "--batch", "16", "--buffer", "256", "--out", "sae", "--quiet"),
		"sae eval":   one("--model", mlp, "--sae", saeDir, "--data", corpus, "--batches", "2"),
		"sae report": one("--model", mlp, "--sae", saeDir, "--data", corpus, "--contexts", "16", "--out", "rep"),
		"neurons":    one("--model", mlp, "--data", corpus, "--contexts", "16", "-o", "n.html"),
		"features":   one("--model", mlp, "--sae", saeDir, "--data", corpus, "--contexts", "16", "-o", "f.html"),
		// demo neurons at 0 (its defaults) trains for minutes on the whole Go corpus.
		"demo neurons": {args: [][]string{{"--out", "dn"}}, skip: []string{"steps=0", "sae-steps=0", "contexts=0"}},
	}
}
