package sae

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
	"github.com/mechinterp/mechinterp/tensor/safetensors"
)

// CacheConfig configures the activation cache of a [Store]: the rows the
// model gives are written to disk as they are collected, in safetensors
// shards of a fixed number of rows, and a later store with the same model,
// hook and corpus reads them back instead of running the model (SAELens's
// cached activations). Only the rows the model gave are cached, unscaled,
// in the order the store drew them, so a store reading a cache serves
// exactly the rows, scale and shuffle of the store that wrote it; when a
// run needs more rows than the cache holds, the store goes on with the
// model where the cache ends and extends it.
type CacheConfig struct {
	// Dir is the cache directory ("": no cache). It is created if missing;
	// an existing one must hold a manifest of the same model, hook and
	// corpus.
	Dir string `json:"dir,omitempty"`
	// ShardRows is the rows per shard (default: 16 MiB of float32 rows).
	// A cache keeps the shard size it was made with.
	ShardRows int `json:"shard_rows,omitempty"`
	// Corpus and ModelName name the corpus and the model in the manifest;
	// Corpus is compared on reuse (the first batch's tokens are too).
	Corpus    string `json:"corpus,omitempty"`
	ModelName string `json:"model_name,omitempty"`
}

// Files of an activation cache directory.
const (
	CacheManifestFile = "manifest.json"
	// CacheTensor names the [rows, d_in] float32 tensor of a shard.
	CacheTensor = "activations"
	// cacheFormat is the manifest's format number.
	cacheFormat = 1
	// maxManifestBytes bounds the manifest read: it holds a few strings
	// and a data source's position.
	maxManifestBytes = 1 << 20
	// defaultShardBytes sizes a shard when ShardRows is not given.
	defaultShardBytes = 16 << 20
	// MaxShardFloats bounds a shard (rows × d_in float32s: 256 MB).
	MaxShardFloats = 1 << 26
)

// CacheShardFile is the file name of shard i.
func CacheShardFile(i int) string { return fmt.Sprintf("shard-%05d.safetensors", i) }

// CacheManifest is manifest.json of an activation cache: what the rows are
// activations of, so that a stale cache is refused, and where the model's
// stream goes on after the last shard.
type CacheManifest struct {
	Format  int    `json:"format"`
	Hook    string `json:"hook_name"`
	DIn     int    `json:"d_in"`
	Context int    `json:"context_size"`
	// Batch is the contexts per forward pass: the source's stream position
	// counts in batches.
	Batch int `json:"contexts_per_batch"`
	BOS   int `json:"bos_token_id"`
	// Model is the SHA-256 of the model's config and weights; ModelName
	// where it was read from.
	Model     string `json:"model_sha256"`
	ModelName string `json:"model_name,omitempty"`
	Corpus    string `json:"corpus"`
	// FirstBatch is the SHA-256 of the first batch's token ids: a changed
	// corpus or tokenizer changes it.
	FirstBatch string `json:"first_batch_sha256"`
	ShardRows  int    `json:"shard_rows"`
	// Shards is the number of complete shards, files 0 to Shards-1.
	Shards int `json:"shards"`
	// ScalingFactor is the store's normalisation, sqrt(d)/E||x|| over the
	// first ScalingRows rows, when a store with Normalize wrote the cache.
	ScalingFactor float64 `json:"scaling_factor,omitempty"`
	ScalingRows   int     `json:"scaling_rows,omitempty"`
	// SourceState is the data source's position before the batch whose
	// first Skip rows end the last shard: where the model's rows go on.
	SourceState []byte `json:"source_state"`
	Skip        int    `json:"skip_rows"`
}

// cache is a store's reader and writer of one cache directory.
type cache struct {
	dir  string
	man  CacheManifest
	next int // next shard to read; man.Shards once reading is done
	// w holds the rows of the shard being written.
	w []float32
	// stateBefore is the source's position before the batch being cached.
	stateBefore []byte
	rowsInBatch int // rows of that batch added to shards or w so far
}

// ModelFingerprint is the SHA-256, in hex, of m's config and weights.
func ModelFingerprint(m *models.Model) string {
	h := sha256.New()
	cfg, _ := json.Marshal(m.Config)
	h.Write(cfg)
	p := m.Params.Data
	if len(p) > 0 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 4*len(p)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// batchFingerprint is the SHA-256 of a batch's token ids.
func batchFingerprint(toks []int) string {
	h := sha256.New()
	var b [8]byte
	for _, t := range toks {
		binary.LittleEndian.PutUint64(b[:], uint64(t))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheError is the one-line error of a bad or stale cache.
func cacheError(dir, format string, args ...any) error {
	return fmt.Errorf("sae: activation cache %s: %s", dir, fmt.Sprintf(format, args...))
}

// openCache opens or creates the cache of s (whose config, model, width
// and source are set; the source not yet read) and checks a present
// manifest against the store: same hook, width, context, batch, BOS,
// model weights, corpus and first batch.
func openCache(s *Store) (*cache, error) {
	cc := s.cfg.Cache
	dir := cc.Dir
	want := CacheManifest{Format: cacheFormat, Hook: s.cfg.Hook, DIn: s.d, Context: s.cfg.Context, Batch: s.cfg.Batch, BOS: s.bos,
		Model: ModelFingerprint(s.m), ModelName: cc.ModelName, Corpus: cc.Corpus, ShardRows: cc.ShardRows}
	if want.ShardRows == 0 {
		want.ShardRows = max(1, defaultShardBytes/(4*s.d))
	}
	if want.ShardRows < 1 || want.ShardRows > MaxShardFloats/s.d {
		return nil, cacheError(dir, "shard of %d rows of %d values: want 1 to %d rows", want.ShardRows, s.d, MaxShardFloats/s.d)
	}
	// The first batch's tokens, read from a source that is then put back.
	st0, err := s.src.State()
	if err != nil {
		return nil, fmt.Errorf("sae: activation cache needs a data source that can report its position: %w", err)
	}
	if err := s.src.Next(s.batch); err != nil {
		return nil, fmt.Errorf("sae: store: %w", err)
	}
	want.FirstBatch = batchFingerprint(s.batch.Tokens)
	if err := s.src.Restore(st0); err != nil {
		return nil, fmt.Errorf("sae: store: %w", err)
	}
	c := &cache{dir: dir}
	man, err := readManifest(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if ents, derr := os.ReadDir(dir); derr == nil && len(ents) > 0 {
			return nil, cacheError(dir, "the directory is not empty and has no %s: not an activation cache (give an empty or new directory)", CacheManifestFile)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, cacheError(dir, "%v", err)
		}
		c.man = want
		c.man.SourceState = st0
		if err := atomicfile.WriteJSON(filepath.Join(dir, CacheManifestFile), c.man); err != nil {
			return nil, cacheError(dir, "%v", err)
		}
		return c, nil
	case err != nil:
		return nil, err
	}
	for _, d := range []struct {
		what      string
		have, now any
	}{
		{"hook", man.Hook, want.Hook}, {"d_in", man.DIn, want.DIn}, {"context size", man.Context, want.Context},
		{"contexts per batch", man.Batch, want.Batch}, {"BOS token", man.BOS, want.BOS},
		{"model (SHA-256 of config and weights)", man.Model, want.Model}, {"corpus", man.Corpus, want.Corpus},
		{"first batch of tokens (SHA-256; the corpus, its seed or the tokenizer changed)", man.FirstBatch, want.FirstBatch},
	} {
		if d.have != d.now {
			return nil, cacheError(dir, "stale: made for %s %v, this run has %v; delete the directory or give another one", d.what, d.have, d.now)
		}
	}
	if man.ShardRows < 1 || man.ShardRows > MaxShardFloats/s.d || man.Shards < 0 || man.Skip < 0 {
		return nil, cacheError(dir, "%s: shard_rows %d, shards %d or skip_rows %d out of range", CacheManifestFile, man.ShardRows, man.Shards, man.Skip)
	}
	if cc.ShardRows != 0 && cc.ShardRows != man.ShardRows {
		return nil, cacheError(dir, "has shards of %d rows; this run asks for %d", man.ShardRows, cc.ShardRows)
	}
	c.man = *man
	return c, nil
}

// readManifest reads and parses dir's manifest (os.ErrNotExist: none).
func readManifest(dir string) (*CacheManifest, error) {
	path := filepath.Join(dir, CacheManifestFile)
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if st, derr := os.Stat(dir); derr == nil && !st.IsDir() {
				return nil, cacheError(dir, "not a directory")
			}
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxManifestBytes {
		return nil, cacheError(dir, "%s is not a regular file of at most %d bytes", CacheManifestFile, maxManifestBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, cacheError(dir, "%v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes))
	if err != nil {
		return nil, cacheError(dir, "%v", err)
	}
	var man CacheManifest
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, cacheError(dir, "%s is not a cache manifest: %v", CacheManifestFile, err)
	}
	if man.Format != cacheFormat {
		return nil, cacheError(dir, "%s has format %d; this version reads %d", CacheManifestFile, man.Format, cacheFormat)
	}
	return &man, nil
}

// reading reports whether shards remain to be read.
func (c *cache) reading() bool { return c.next < c.man.Shards }

// readShard reads the next shard into dst (resized to the shard) and
// returns it.
func (c *cache) readShard(dst []float32) ([]float32, error) {
	name := CacheShardFile(c.next)
	rows, d := c.man.ShardRows, c.man.DIn
	f, err := safetensors.OpenLimited(filepath.Join(c.dir, name), 1)
	if err != nil {
		return nil, cacheError(c.dir, "shard %d of %d: %v", c.next, c.man.Shards, err)
	}
	defer f.Close()
	e, ok := f.Entry(CacheTensor)
	if !ok || e.DType != "F32" || len(e.Shape) != 2 || e.Shape[0] != rows || e.Shape[1] != d {
		return nil, cacheError(c.dir, "%s: want one F32 tensor %q of shape [%d %d]", name, CacheTensor, rows, d)
	}
	if cap(dst) < rows*d {
		dst = make([]float32, rows*d)
	}
	dst = dst[:rows*d]
	if err := f.ReadInto(CacheTensor, dst); err != nil {
		return nil, cacheError(c.dir, "%s: %v", name, err)
	}
	for i, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, cacheError(c.dir, "%s: row %d holds %v: the shard is corrupt", name, i/d, v)
		}
	}
	c.next++
	return dst, nil
}

// beginBatch records the source's position before a batch is collected.
func (c *cache) beginBatch(src data.Source) error {
	st, err := src.State()
	if err != nil {
		return fmt.Errorf("sae: activation cache: %w", err)
	}
	c.stateBefore, c.rowsInBatch = st, 0
	return nil
}

// add appends the rows of the batch begun last to the shard being written,
// writing each shard as it fills (then the manifest, so that it never names
// a shard not fully on disk).
func (c *cache) add(rows []float32) error {
	d := c.man.DIn
	for len(rows) > 0 {
		room := c.man.ShardRows*d - len(c.w)
		n := min(room, len(rows))
		c.w = append(c.w, rows[:n]...)
		rows = rows[n:]
		c.rowsInBatch += n / d
		if len(c.w) < c.man.ShardRows*d {
			continue
		}
		t := &tensor.Tensor{Shape: []int{c.man.ShardRows, d}, Data: c.w}
		if err := safetensors.Write(filepath.Join(c.dir, CacheShardFile(c.man.Shards)), map[string]*tensor.Tensor{CacheTensor: t}, nil); err != nil {
			return cacheError(c.dir, "%v", err)
		}
		c.man.Shards++
		c.next = c.man.Shards
		c.man.SourceState, c.man.Skip = c.stateBefore, c.rowsInBatch
		if err := atomicfile.WriteJSON(filepath.Join(c.dir, CacheManifestFile), c.man); err != nil {
			return cacheError(c.dir, "%v", err)
		}
		c.w = c.w[:0]
	}
	return nil
}

// setScale records the store's normalisation in the manifest of a cache
// that has none, and checks it against the recorded one over the same
// rows otherwise.
func (c *cache) setScale(scale float64, rows int) error {
	switch {
	case c.man.ScalingRows == rows && c.man.ScalingFactor != 0:
		if math.Abs(scale-c.man.ScalingFactor) > 1e-9*c.man.ScalingFactor {
			return cacheError(c.dir, "the scaling factor over its first %d rows is %g, the manifest says %g: the shards changed", rows, scale, c.man.ScalingFactor)
		}
	case c.man.ScalingFactor == 0:
		c.man.ScalingFactor, c.man.ScalingRows = scale, rows
		if err := atomicfile.WriteJSON(filepath.Join(c.dir, CacheManifestFile), c.man); err != nil {
			return cacheError(c.dir, "%v", err)
		}
	}
	return nil
}
