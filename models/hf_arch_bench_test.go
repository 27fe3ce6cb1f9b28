package models

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Shapes of the benchmarks: Pythia-160M, and a Llama-shaped model
// of the same width with grouped-query attention and SwiGLU.
var (
	pythia160M = Config{NLayers: 12, NHeads: 12, DModel: 768, DMLP: 3072, NCtx: 2048, DVocab: 50304,
		Normalization: NormLN, Positional: PosRotary, RotaryDim: 16, ParallelAttnMLP: true, ActFn: ActGelu,
		Untied: true, NoUnembedBias: true, HFArchitecture: ArchGPTNeoX}
	llamaShaped = Config{NLayers: 12, NHeads: 12, NKVHeads: 4, DModel: 768, DMLP: 2048, NCtx: 2048, DVocab: 32000,
		Normalization: NormRMS, LNEps: 1e-6, Positional: PosRotary, ActFn: ActSilu, GatedMLP: true,
		NoQKVBias: true, NoAttnOutBias: true, NoMLPBias: true, NoUnembedBias: true, Untied: true, HFArchitecture: ArchLlama}
)

// writeHFHalf writes a random checkpoint of class cfg.HFArchitecture in
// 16-bit floats (dtype "F16" or "BF16"), as Hugging Face publishes them, in
// shards files (with model.safetensors.index.json when shards > 1), the
// GPT-NeoX buffers included, streaming each tensor so that writing costs
// no copy of the model.
func writeHFHalf(tb testing.TB, dir string, cfg Config, dtype string, shards int) {
	tb.Helper()
	cfg = cfg.WithDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cj, err := marshalArchConfig(cfg, cfg.HFArchitecture)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), cj, 0o644); err != nil {
		tb.Fatal(err)
	}
	ts := archTensors(cfg, cfg.HFArchitecture)
	rng := rand.New(rand.NewPCG(1, 2))
	weightMap := map[string]string{}
	for s := 0; s < shards; s++ {
		part := ts[s*len(ts)/shards : (s+1)*len(ts)/shards]
		name := WeightsFile
		if shards > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, shards)
		}
		header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
		off := 0
		for _, t := range part {
			n := 2
			for _, d := range t.shape {
				n *= d
			}
			header[t.name] = map[string]any{"dtype": dtype, "shape": t.shape, "data_offsets": []int{off, off + n}}
			off += n
			weightMap[t.name] = name
		}
		h, err := json.Marshal(header)
		if err != nil {
			tb.Fatal(err)
		}
		h = append(h, bytes.Repeat([]byte(" "), (8-len(h)%8)%8)...)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		binary.Write(w, binary.LittleEndian, uint64(len(h)))
		w.Write(h)
		var buf [2]byte
		for _, t := range part {
			n := 1
			for _, d := range t.shape {
				n *= d
			}
			for i := 0; i < n; i++ {
				v := float32(rng.NormFloat64() * 0.02)
				if strings.Contains(t.name, "norm") {
					v += 1
				}
				binary.LittleEndian.PutUint16(buf[:], halfBits(v, dtype))
				w.Write(buf[:])
			}
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	if shards > 1 {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
		if err := os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// halfBits rounds v to F16 or BF16 (by truncation; subnormal F16 flush to 0).
func halfBits(v float32, dtype string) uint16 {
	b := math.Float32bits(v)
	if dtype == "BF16" {
		return uint16(b >> 16)
	}
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	switch {
	case exp <= 0:
		return sign
	case exp >= 31:
		return sign | 0x7c00
	}
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// BenchmarkLoadHFHalf measures loading a Pythia-160M-shaped checkpoint in
// BF16 sharded in three files, and a Llama-shaped one in F16, each in a
// fresh process: the peak resident memory against the float32 weights.
// Run it with
//
//	go test ./models -run '^$' -bench LoadHFHalf -benchtime 1x
//
// It writes ~325 MB and ~230 MB to a temporary directory.
func BenchmarkLoadHFHalf(b *testing.B) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		dtype  string
		shards int
	}{
		{"pythia160m-bf16-3shards", pythia160M, "BF16", 3},
		{"llama-f16", llamaShaped, "F16", 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), tc.name)
			writeHFHalf(b, dir, tc.cfg, tc.dtype, tc.shards)
			var peak, weights, loadSec float64
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestLoadRSSChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "MECHINTERP_LOAD_RSS_CHILD="+dir)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					b.Fatalf("child: %v\n%s", err, out.String())
				}
				for _, line := range strings.Split(out.String(), "\n") {
					if rest, ok := strings.CutPrefix(line, "loadrss "); ok {
						f := strings.Fields(rest)
						peak, _ = strconv.ParseFloat(f[0], 64)
						weights, _ = strconv.ParseFloat(f[1], 64)
						loadSec, _ = strconv.ParseFloat(f[2], 64)
					}
				}
			}
			b.ReportMetric(peak, "peak-RSS-MiB")
			b.ReportMetric(weights, "weights-MiB")
			b.ReportMetric(peak/weights, "peak/weights")
			b.ReportMetric(loadSec*1e3, "load-ms")
		})
	}
}

// TestHalfCheckpointLoads checks the writer of BenchmarkLoadHFHalf on a
// small shape: the loaded weights are the 16-bit values it wrote.
func TestHalfCheckpointLoads(t *testing.T) {
	for _, dtype := range []string{"F16", "BF16"} {
		cfg := llamaShaped
		cfg.NLayers, cfg.DModel, cfg.NHeads, cfg.NKVHeads, cfg.DMLP, cfg.DVocab, cfg.NCtx = 2, 16, 4, 2, 24, 30, 16
		dir := filepath.Join(t.TempDir(), dtype)
		writeHFHalf(t, dir, cfg, dtype, 2)
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		w := m.Params.slice("ln_f.weight")
		if w[0] < 0.9 || w[0] > 1.1 {
			t.Errorf("%s: ln_f.weight[0] = %g, want near 1", dtype, w[0])
		}
		if _, err := m.Forward([]int{1, 2, 3}, 1, 3, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}
