package sae_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/sae"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// drawRows opens a store of cfg on m over source(seed) and returns its
// first n rows and the store.
func drawRows(t *testing.T, m *models.Model, seed uint64, cfg sae.StoreConfig, n int) ([]float64, *sae.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sae.NewStore(ctx, m, source(t, seed), 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, n*st.D())
	for i := 0; i < n; i++ {
		if err := st.Next(ctx, out[i*st.D():(i+1)*st.D()]); err != nil {
			t.Fatal(err)
		}
	}
	return out, st
}

// TestCacheServesTheSameRows: a store writing its cache, a store reading it
// back (and going on with the model past its end), and a store with no
// cache serve the same rows with the same scale and shuffle; the reading
// store runs the model only for the rows past the cache.
func TestCacheServesTheSameRows(t *testing.T) {
	m := mlpModel(t)
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := sae.StoreConfig{Hook: hook, Batch: 3, Buffer: 128, Normalize: true, Seed: 7, Cache: sae.CacheConfig{Dir: dir, ShardRows: 50, Corpus: "repeated"}}
	plain := cfg
	plain.Cache = sae.CacheConfig{}
	want, ref := drawRows(t, m, 1, plain, 1500)

	first, w := drawRows(t, m, 1, cfg, 600)
	if !slices.Equal(first, want[:len(first)]) {
		t.Fatal("the store writing the cache serves other rows than one without")
	}
	var man sae.CacheManifest
	b, err := os.ReadFile(filepath.Join(dir, sae.CacheManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.Shards != int(w.Tokens())/50 || man.DIn != 32 || man.Hook != hook || man.ScalingFactor != ref.Scale() || man.ScalingRows != 128 {
		t.Errorf("manifest %+v after %d rows from the model", man, w.Tokens())
	}

	got, r := drawRows(t, m, 1, cfg, 1500)
	if !slices.Equal(got, want) {
		t.Fatal("the store reading the cache serves other rows")
	}
	if r.Scale() != ref.Scale() {
		t.Errorf("scale %v from the cache, %v without", r.Scale(), ref.Scale())
	}
	if r.Cached() != int64(man.Shards*50) || r.Tokens() >= ref.Tokens() {
		t.Errorf("reading store: %d rows from the cache (%d shards of 50), %d from the model; the plain store ran %d", r.Cached(), man.Shards, r.Tokens(), ref.Tokens())
	}
	// The reading store extended the cache: a third reads more of it and
	// runs the model less.
	again, r3 := drawRows(t, m, 1, cfg, 1500)
	if !slices.Equal(again, want) || r3.Cached() <= r.Cached() {
		t.Errorf("third store: same rows %v, %d cached rows (second read %d)", slices.Equal(again, want), r3.Cached(), r.Cached())
	}
}

// TestCacheRefusesStale: a cache made for another hook, model, corpus or
// seed is refused with one line saying what differs; so is a shard size
// other than the cache's.
func TestCacheRefusesStale(t *testing.T) {
	m := mlpModel(t)
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := sae.StoreConfig{Hook: hook, Batch: 2, Buffer: 64, Cache: sae.CacheConfig{Dir: dir, ShardRows: 40, Corpus: "repeated"}}
	drawRows(t, m, 1, cfg, 200)
	other := testmodel.New(t, models.Config{NLayers: 1, NHeads: 2, DModel: 16, DMLP: 32, NCtx: 16, DVocab: 64, Seed: 4})
	for _, tc := range []struct {
		name string
		m    *models.Model
		seed uint64
		edit func(*sae.StoreConfig)
		want string
	}{
		{"hook", m, 1, func(c *sae.StoreConfig) { c.Hook = "blocks.0.mlp.hook_pre" }, "made for hook blocks.0.mlp.hook_post"},
		{"model", other, 1, func(*sae.StoreConfig) {}, "model (SHA-256"},
		{"corpus", m, 1, func(c *sae.StoreConfig) { c.Cache.Corpus = "other" }, "made for corpus repeated"},
		{"seed", m, 2, func(*sae.StoreConfig) {}, "first batch of tokens"},
		{"context", m, 1, func(c *sae.StoreConfig) { c.Context = 15 }, "context size"},
		{"shard size", m, 1, func(c *sae.StoreConfig) { c.Cache.ShardRows = 41 }, "shards of 40 rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			_, err := sae.NewStore(context.Background(), tc.m, source(t, tc.seed), 0, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line with %q", err, tc.want)
			}
		})
	}
}

// TestCacheRefusesCorrupt: damaged manifests and shards end in one error
// line naming the cache, never a panic or rows of garbage.
func TestCacheRefusesCorrupt(t *testing.T) {
	m := mlpModel(t)
	base := filepath.Join(t.TempDir(), "cache")
	cfg := sae.StoreConfig{Hook: hook, Batch: 2, Buffer: 64, Cache: sae.CacheConfig{Dir: base, ShardRows: 40}}
	drawRows(t, m, 1, cfg, 300)
	shard := sae.CacheShardFile(1)
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"truncated shard", func(t *testing.T, dir string) {
			p := filepath.Join(dir, shard)
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-100)
		}, shard},
		{"missing shard", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, shard)) }, "shard 1 of"},
		{"shard is a directory", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, shard))
			os.Mkdir(filepath.Join(dir, shard), 0o755)
		}, "not a regular file"},
		{"wrong shape", func(t *testing.T, dir string) {
			safetensors.Write(filepath.Join(dir, shard), map[string]*tensor.Tensor{sae.CacheTensor: tensor.New(40, 31)}, nil)
		}, "of shape [40 32]"},
		{"NaN row", func(t *testing.T, dir string) {
			x := tensor.New(40, 32)
			x.Data[5*32+3] = float32(math.NaN())
			safetensors.Write(filepath.Join(dir, shard), map[string]*tensor.Tensor{sae.CacheTensor: x}, nil)
		}, "row 5 holds NaN"},
		{"garbage shard", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, shard), []byte("\xff\xff\xff\xff\xff\xff\xff\x7f{"), 0o644)
		}, shard},
		{"garbage manifest", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, sae.CacheManifestFile), []byte("{\"format\": 1, \"shards\": "), 0o644)
		}, "not a cache manifest"},
		{"huge manifest", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, sae.CacheManifestFile), make([]byte, 2<<20), 0o644)
		}, "at most"},
		{"negative shards", func(t *testing.T, dir string) { editManifest(t, dir, "shards", -3) }, "out of range"},
		{"huge shard rows", func(t *testing.T, dir string) { editManifest(t, dir, "shard_rows", 1<<40) }, "out of range"},
		{"future format", func(t *testing.T, dir string) { editManifest(t, dir, "format", 9) }, "format 9"},
		{"skip past the batch", func(t *testing.T, dir string) { editManifest(t, dir, "skip_rows", 1<<20) }, "skip_rows"},
		{"not a cache", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, sae.CacheManifestFile))
		}, "not an activation cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			tc.edit(t, dir)
			c := cfg
			c.Cache.Dir = dir
			ctx := context.Background()
			st, err := sae.NewStore(ctx, m, source(t, 1), 0, c)
			for i := 0; err == nil && i < 2000; i++ {
				err = st.Next(ctx, make([]float64, 32))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "activation cache") || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line with %q", err, tc.want)
			}
		})
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	c := cfg
	c.Cache.Dir = f
	if _, err := sae.NewStore(context.Background(), m, source(t, 1), 0, c); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("cache dir is a file: %v", err)
	}
}

func editManifest(t *testing.T, dir, key string, v any) {
	t.Helper()
	p := filepath.Join(dir, sae.CacheManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var man map[string]any
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	man[key] = v
	b, _ = json.Marshal(man)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCacheMemoryBoundedByBuffer streams a cache of 40 times the buffer's
// size through a store and checks that the heap never grows past the
// buffer and two shards (plus slack for the runtime), and that reading
// allocates no new memory per shard.
func TestCacheMemoryBoundedByBuffer(t *testing.T) {
	m := mlpModel(t)
	dir := filepath.Join(t.TempDir(), "cache")
	const buffer, shard, d = 1024, 1024, 32
	cfg := sae.StoreConfig{Hook: hook, Batch: 16, Buffer: buffer, Cache: sae.CacheConfig{Dir: dir, ShardRows: shard}}
	const rows = 40 * buffer
	drawRows(t, m, 1, cfg, rows)

	ctx := context.Background()
	st, err := sae.NewStore(ctx, m, source(t, 1), 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, alloc0 := ms.HeapAlloc, ms.TotalAlloc
	var peak uint64
	row := make([]float64, d)
	for i := 0; i < rows-2*buffer; i++ {
		if err := st.Next(ctx, row); err != nil {
			t.Fatal(err)
		}
		if i%shard == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	runtime.ReadMemStats(&ms)
	bound := uint64(4 * d * (buffer + 2*shard))
	t.Logf("%d rows (%d bytes) read from the cache (%d from the model); heap peak %d over %d at start; %d bytes allocated",
		st.Cached(), st.Cached()*4*d, st.Tokens(), peak-base, base, ms.TotalAlloc-alloc0)
	if st.Cached() < rows/2 {
		t.Errorf("only %d rows came from the cache", st.Cached())
	}
	if peak > base+bound+(1<<20) {
		t.Errorf("heap grew by %d bytes streaming the cache; buffer and two shards are %d", peak-base, bound)
	}
	if got := ms.TotalAlloc - alloc0; got > uint64(4*d*shard) {
		t.Errorf("reading %d shards allocated %d bytes: more than one shard's %d", st.Cached()/shard, got, 4*d*shard)
	}
}
