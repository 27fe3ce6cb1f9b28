package sae

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/internal/memory"
	"github.com/mechinterp/mechinterp/internal/seed"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// StoreConfig configures an activation [Store].
type StoreConfig struct {
	// Hook is the hook point whose activations are read, by its
	// TransformerLens name (models.ActName), e.g. blocks.0.mlp.hook_post.
	Hook string `json:"hook"`
	// Context is the tokens per context (default the model's n_ctx).
	Context int `json:"context"`
	// Batch is the contexts per forward pass (default 16).
	Batch int `json:"batch"`
	// Buffer is the rows of the shuffle buffer (default 65536).
	Buffer int `json:"buffer"`
	// Normalize scales every activation by one factor so that
	// E||x|| = sqrt(d), estimated on the first buffer.
	Normalize bool `json:"normalize"`
	// Seed fixes the shuffle.
	Seed uint64 `json:"seed"`
	// Cache, if its Dir is set, writes the model's rows to disk and reads
	// them back on a later run ([CacheConfig]).
	Cache CacheConfig `json:"cache,omitzero"`
}

func (c *StoreConfig) defaults(m *models.Model) {
	if c.Context == 0 {
		c.Context = m.Config.NCtx
	}
	if c.Batch == 0 {
		c.Batch = 16
	}
	if c.Buffer == 0 {
		c.Buffer = 1 << 16
	}
}

// Store streams the activations of one hook point of a model over a token
// source, the way SAELens's ActivationsStore feeds SAE training: fixed
// contexts, positions holding the BOS token dropped, rows served from a
// shuffle buffer whose served half is refilled with fresh activations and
// reshuffled with the rest, so consecutive rows come from many contexts.
// Memory is the buffer's, whatever the corpus size (with a cache, plus a
// shard being read and one being written).
type Store struct {
	cfg   StoreConfig
	m     *models.Model
	src   data.Source
	bos   int
	d     int
	buf   []float32 // [Buffer, d]
	pos   int       // next row served, in [0, Buffer/2)
	rng   seed.Rand
	scale float64
	batch *data.Batch
	// pending are collected rows not yet in the buffer: a view of rows (a
	// batch of the model's) or of shard (one read from the cache).
	pending     []float32
	rows, shard []float32
	tokens      int64
	cached      int64
	cache       *cache
	// resume: the next batch from the model continues after the cache's
	// last shard (restore the source, drop the rows already cached).
	resume bool
}

// MaxBufferFloats bounds a store's buffer (rows × width float32s: 512 MB).
const MaxBufferFloats = 1 << 27

// errStop ends a forward pass once the hook has fired: nothing after it is
// needed.
var errStop = errors.New("sae: activation collected")

// NewStore returns a store of m's activations at cfg.Hook over src, whose
// BOS token id is bos (-1: none dropped), and fills its buffer.
func NewStore(ctx context.Context, m *models.Model, src data.Source, bos int, cfg StoreConfig) (*Store, error) {
	cfg.defaults(m)
	if cfg.Buffer < 0 || cfg.Batch < 0 || cfg.Context < 0 {
		return nil, fmt.Errorf("sae: store: negative context %d, batch %d or buffer %d", cfg.Context, cfg.Batch, cfg.Buffer)
	}
	shape, err := models.HookShape(m.Config, cfg.Hook, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("sae: %w", err)
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("sae: hook %s has shape %s per token, not a vector", cfg.Hook, tensor.ShapeString(shape[2:]))
	}
	if cfg.Context < 1 || cfg.Context > m.Config.NCtx || cfg.Batch < 1 || cfg.Batch > 1<<12 || cfg.Buffer < 2 || cfg.Buffer > MaxBufferFloats/shape[2] {
		return nil, fmt.Errorf("sae: store: context %d (model n_ctx %d), batch %d, buffer %d", cfg.Context, m.Config.NCtx, cfg.Batch, cfg.Buffer)
	}
	if src.Vocab() > m.Config.DVocab {
		return nil, fmt.Errorf("sae: the data's vocabulary (%d) is larger than the model's (%d)", src.Vocab(), m.Config.DVocab)
	}
	cfg.Buffer -= cfg.Buffer % 2
	s := &Store{cfg: cfg, m: m, src: src, bos: bos, d: shape[2], rng: seed.New(seed.Derive(cfg.Seed, 0, "sae/store")),
		scale: 1, batch: data.NewBatch(cfg.Batch, cfg.Context-1)}
	need := 4 * float64(cfg.Buffer+cfg.Batch*cfg.Context) * float64(s.d)
	if cfg.Cache.Dir != "" {
		need += 8 * float64(max(cfg.Cache.ShardRows, defaultShardBytes/(4*s.d))) * float64(s.d)
	}
	if err := memory.Check(need); err != nil {
		return nil, fmt.Errorf("sae: store of %d rows of %d values: %w", cfg.Buffer, s.d, err)
	}
	if cfg.Cache.Dir != "" {
		if s.cache, err = openCache(s); err != nil {
			return nil, err
		}
		s.resume = s.cache.man.Shards > 0
	}
	s.buf = make([]float32, cfg.Buffer*s.d)
	if err := s.fill(ctx, s.buf); err != nil {
		return nil, err
	}
	if cfg.Normalize {
		var norm float64
		n := cfg.Buffer
		for i := 0; i < n; i++ {
			var ss float64
			for _, v := range s.buf[i*s.d : (i+1)*s.d] {
				ss += float64(v) * float64(v)
			}
			norm += math.Sqrt(ss)
		}
		norm /= float64(n)
		if norm > 0 {
			s.scale = math.Sqrt(float64(s.d)) / norm
		}
		if s.cache != nil {
			if err := s.cache.setScale(s.scale, n); err != nil {
				return nil, err
			}
		}
	}
	s.shuffle()
	return s, nil
}

// D is the width of a row.
func (s *Store) D() int { return s.d }

// Scale is the factor every served row is multiplied by: sqrt(d)/E||x||
// with Normalize, else 1.
func (s *Store) Scale() float64 { return s.scale }

// Tokens is the number of activation rows read from the model so far.
func (s *Store) Tokens() int64 { return s.tokens }

// Cached is the number of activation rows read from the cache so far.
func (s *Store) Cached() int64 { return s.cached }

// Config is the store's configuration, defaults filled in.
func (s *Store) Config() StoreConfig { return s.cfg }

// Next writes the next row, scaled, into dst (length D).
func (s *Store) Next(ctx context.Context, dst []float64) error {
	half := s.cfg.Buffer / 2
	if s.pos == half {
		if err := s.fill(ctx, s.buf[:half*s.d]); err != nil {
			return err
		}
		s.shuffle()
		s.pos = 0
	}
	row := s.buf[s.pos*s.d : (s.pos+1)*s.d]
	for j, v := range row {
		dst[j] = float64(v) * s.scale
	}
	s.pos++
	return nil
}

// shuffle permutes the buffer's rows (Fisher-Yates).
func (s *Store) shuffle() {
	d := s.d
	tmp := make([]float32, d)
	for i := s.cfg.Buffer - 1; i > 0; i-- {
		j := s.rng.IntN(i + 1)
		if i != j {
			a, b := s.buf[i*d:(i+1)*d], s.buf[j*d:(j+1)*d]
			copy(tmp, a)
			copy(a, b)
			copy(b, tmp)
		}
	}
}

// fill overwrites dst with fresh rows (unscaled).
func (s *Store) fill(ctx context.Context, dst []float32) error {
	for len(dst) > 0 {
		if len(s.pending) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.collect(); err != nil {
				return err
			}
		}
		n := copy(dst, s.pending)
		dst, s.pending = dst[n:], s.pending[n:]
	}
	return nil
}

// collect puts the next rows in pending: the next shard of the cache while
// there is one, else one batch of contexts run to the hook, its rows at BOS
// tokens dropped (and written to the cache, if any).
func (s *Store) collect() error {
	if s.cache != nil && s.cache.reading() {
		sh, err := s.cache.readShard(s.shard)
		if err != nil {
			return err
		}
		s.shard, s.pending = sh, sh
		s.cached += int64(len(sh) / s.d)
		return nil
	}
	skip := 0
	if s.resume {
		if err := s.src.Restore(s.cache.man.SourceState); err != nil {
			return cacheError(s.cache.dir, "the source cannot go on where the cache ends: %v", err)
		}
		skip, s.resume = s.cache.man.Skip, false
	}
	if s.cache != nil {
		if err := s.cache.beginBatch(s.src); err != nil {
			return err
		}
	}
	if err := s.src.Next(s.batch); err != nil {
		return fmt.Errorf("sae: store: %w", err)
	}
	B, T := s.batch.B, s.batch.T+1
	toks := s.batch.Tokens // the whole row of T+1 tokens is a context
	s.rows = s.rows[:0]
	_, err := Activations(s.m, toks, B, T, s.cfg.Hook, func(i int, row []float32) {
		if toks[i] == s.bos {
			return
		}
		s.rows = append(s.rows, row...)
		s.tokens++
	})
	if err != nil {
		return err
	}
	if len(s.rows) == 0 {
		return fmt.Errorf("sae: store: a batch of %d contexts gave no activation (all BOS?)", B)
	}
	if skip*s.d > len(s.rows) {
		return cacheError(s.cache.dir, "skip_rows %d is more than the %d rows of the batch it names", skip, len(s.rows)/s.d)
	}
	s.pending = s.rows[skip*s.d:]
	if s.cache != nil {
		s.cache.rowsInBatch = skip
		if err := s.cache.add(s.pending); err != nil {
			return err
		}
	}
	if len(s.pending) == 0 {
		return s.collect()
	}
	return nil
}

// Activations runs tokens [B,T] through m until hook fires and calls row
// for each token position i (in [0, B*T)) with its activation, a view valid
// during the call. It returns the width of a row.
func Activations(m *models.Model, tokens []int, B, T int, hook string, row func(i int, act []float32)) (int, error) {
	d := 0
	_, err := m.Forward(tokens, B, T, nil, &models.Options{NoGrad: true, Hook: func(name string, act *tensor.Tensor) (*tensor.Tensor, error) {
		if name != hook {
			return nil, nil
		}
		d = act.Shape[len(act.Shape)-1]
		for i := 0; i < B*T; i++ {
			row(i, act.Data[i*d:(i+1)*d])
		}
		return nil, errStop
	}})
	if err != nil && !errors.Is(err, errStop) {
		return 0, fmt.Errorf("sae: %w", err)
	}
	if d == 0 {
		return 0, fmt.Errorf("sae: hook %s did not fire", hook)
	}
	return d, nil
}
