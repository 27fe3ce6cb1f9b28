package models_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// gpt2SmallConfig is GPT-2 small's shape (124M parameters).
var gpt2SmallConfig = models.Config{NLayers: 12, NHeads: 12, DModel: 768, NCtx: 1024, DVocab: 50257}

// writeGPT2SmallHF writes a random GPT-2-small-shaped checkpoint as
// GPT2LMHeadModel's pytorch_model.bin converted to safetensors looks:
// "transformer." names, the F32 attention buffers h.N.attn.bias
// [1,1,1024,1024] and h.N.attn.masked_bias, no lm_head (tied). About 548 MB.
func writeGPT2SmallHF(tb testing.TB, dir string) int64 {
	tb.Helper()
	m, err := models.New(gpt2SmallConfig)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := models.MarshalHFConfig(m.Config)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ConfigFile), cfg, 0o644); err != nil {
		tb.Fatal(err)
	}
	ts := map[string]*tensor.Tensor{}
	for _, name := range m.Params.Names() {
		if name != "lm_head.bias" {
			ts["transformer."+name] = m.Params.Get(name)
		}
	}
	T := gpt2SmallConfig.NCtx
	mask := tensor.New(1, 1, T, T)
	for i := 0; i < T; i++ {
		for j := 0; j <= i; j++ {
			mask.Data[i*T+j] = 1
		}
	}
	for l := 0; l < gpt2SmallConfig.NLayers; l++ {
		ts[fmt.Sprintf("transformer.h.%d.attn.bias", l)] = mask
		ts[fmt.Sprintf("transformer.h.%d.attn.masked_bias", l)] = tensor.View([]float32{-1e4})
	}
	path := filepath.Join(dir, models.WeightsFile)
	if err := safetensors.Write(path, ts, map[string]string{"format": "pt"}); err != nil {
		tb.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// BenchmarkLoadGPT2Small measures loading a GPT-2-small-shaped checkpoint
// in a fresh process: the time models.Load takes and the process's peak
// resident memory, against the size of the float32 weights. Run it with
//
//	go test ./models -run '^$' -bench LoadGPT2Small -benchtime 3x
//
// It writes ~548 MB to a temporary directory (or to $MECHINTERP_GPT2_SMALL
// if that names a directory, which is kept and reused, so that
// testdata/hf_gpt2/load_rss.py can load the same file in PyTorch).
func BenchmarkLoadGPT2Small(b *testing.B) {
	dir := os.Getenv("MECHINTERP_GPT2_SMALL")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "gpt2-small")
	}
	if _, err := os.Stat(filepath.Join(dir, models.WeightsFile)); err != nil {
		writeGPT2SmallHF(b, dir)
	}
	var peak, weights, loadSec float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadRSSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MECHINTERP_LOAD_RSS_CHILD="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("child: %v\n%s", err, out.String())
		}
		var ok bool
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, found := strings.CutPrefix(line, "loadrss "); found {
				f := strings.Fields(rest)
				peak, _ = strconv.ParseFloat(f[0], 64)
				weights, _ = strconv.ParseFloat(f[1], 64)
				loadSec, _ = strconv.ParseFloat(f[2], 64)
				ok = true
			}
		}
		if !ok {
			b.Fatalf("child printed no measurement:\n%s", out.String())
		}
	}
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(weights, "weights-MiB")
	b.ReportMetric(peak/weights, "peak/weights")
	b.ReportMetric(loadSec*1e3, "load-ms")
}

// TestLoadRSSChild is BenchmarkLoadGPT2Small's child process; it skips
// unless the benchmark started it.
func TestLoadRSSChild(t *testing.T) {
	dir := os.Getenv("MECHINTERP_LOAD_RSS_CHILD")
	if dir == "" {
		t.Skip("run by BenchmarkLoadGPT2Small in a fresh process")
	}
	start := time.Now()
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sec := time.Since(start).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("loadrss %.1f %.1f %.3f\n", float64(ru.Maxrss)/1024, float64(4*len(m.Params.Data))/(1<<20), sec)
}
