package models

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/parallel"
)

// writeEmptyTensorsFile writes a valid safetensors file of n zero-size tensors: a
// header of about 60 bytes per entry and no data. It returns the file's size.
func writeEmptyTensorsFile(t testing.TB, path string, n int) int64 {
	var hdr strings.Builder
	hdr.WriteString("{")
	for i := range n {
		if i > 0 {
			hdr.WriteString(",")
		}
		fmt.Fprintf(&hdr, `"t%09d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`, i)
	}
	hdr.WriteString("}")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	binary.Write(w, binary.LittleEndian, uint64(hdr.Len()))
	w.WriteString(hdr.String())
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return int64(8 + hdr.Len())
}

// allocDuring returns the bytes allocated while f runs (an upper bound of its peak).
func allocDuring(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadHostileHeaderMemory: a small weights file whose header lists a great many empty
// tensors is refused at a cost bounded by the file's size. Before the header was capped
// against the tensor count the config implies, a 91.5 MB header of 1.5 M such entries
// peaked at 863 MB, and with n_layer just under the entry count cost 3.3 GB. The bytes
// allocated while refusing (an upper bound of the peak), beyond what the config alone
// costs (its layout; measured on a file of no tensors), must stay within 10 times the
// file's size: for a config of 2 layers, for one at the layer limit (the most tensors any
// config implies), and for a header just under that config's cap, which is parsed whole.
func TestLoadHostileHeaderMemory(t *testing.T) {
	for _, tc := range []struct {
		layers, entries int
		want            string
	}{
		{2, 300_000, "expected"},         // an 18 MB header for a model of 132 tensors at most
		{MaxLayers, 300_000, "expected"}, // the most tensors any config implies
		{MaxLayers, maxTensors(hfCfgLayers(MaxLayers), ParamLayout(hfCfgLayers(MaxLayers))), "unexpected tensors"},
	} {
		t.Run(fmt.Sprintf("n_layer %d, %d entries", tc.layers, tc.entries), func(t *testing.T) {
			dir := t.TempDir()
			cfg := strings.NewReplacer(`"n_layer": 2`, fmt.Sprintf(`"n_layer": %d`, tc.layers)).Replace(hfGPT2Config)
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			weights := filepath.Join(dir, WeightsFile)
			writeEmptyTensorsFile(t, weights, 0)
			base := allocDuring(func() { LoadParams(dir) })
			size := writeEmptyTensorsFile(t, weights, tc.entries)
			var err error
			alloc := allocDuring(func() { _, _, err = LoadParams(dir) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadParams = %v, want an error containing %q", err, tc.want)
			}
			t.Logf("file %d bytes: %d bytes allocated while refusing it, %d for the config alone", size, alloc, base)
			if alloc > base+10*uint64(size) {
				t.Errorf("refusing a %d-byte file allocated %d bytes beyond the config's %d, more than 10 times its size", size, alloc-base, base)
			}
		})
	}
}

func hfCfgLayers(n int) Config {
	c := hfCfg
	c.NLayers = n
	return c.WithDefaults()
}

// TestForwardPanicIsError: a panic inside the pass (here from a model whose config no
// longer matches its parameters, as a wrapped n_head·d_head once made) comes back from
// Forward as an error instead of a crash.
func TestForwardPanicIsError(t *testing.T) {
	m, err := New(Config{NLayers: 1, NHeads: 4, DModel: 16, NCtx: 8, DVocab: 10})
	if err != nil {
		t.Fatal(err)
	}
	m.Config.DHead *= 2 // the layers now index past q, k and v
	toks := make([]int, 4*8)
	_, err = m.Forward(toks, 4, 8, toks, nil)
	var p *parallel.Panic
	if !errors.As(err, &p) || !strings.HasPrefix(err.Error(), "models: forward pass: panic: ") {
		t.Fatalf("Forward = %v, want the panic returned as an error", err)
	}
}

// TestParallelForWorkerPanic: a panic on one of parallelFor's worker goroutines is
// re-raised on the caller's, where a recover (Forward's, a server's) can catch it;
// before, it ended the process however many requests a server had answered.
func TestParallelForWorkerPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // so that parallelFor starts workers
	err := func() (err error) {
		defer parallel.Recover(&err, "test")
		parallelFor(1000, 1, func(lo, hi int) {
			if lo > 0 {
				var s []float32
				_ = s[lo]
			}
		})
		return nil
	}()
	var p *parallel.Panic
	if !errors.As(err, &p) || !strings.Contains(string(p.Stack), "parallel.(*Group).Go") {
		t.Fatalf("err = %v, want a worker's panic", err)
	}
}
