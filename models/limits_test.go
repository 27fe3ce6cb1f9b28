package models

import (
	"math"
	"strings"
	"testing"
)

// TestValidateSizes: sizes whose products would overflow (n_head·d_head wrapping to 0 was
// seen passing every shape check and panicking in the first forward pass) or whose layout
// is absurd are refused by Validate, before anything is allocated.
func TestValidateSizes(t *testing.T) {
	base := Config{NLayers: 2, NHeads: 4, DModel: 16, NCtx: 8, DVocab: 32}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"small", func(*Config) {}, ""},
		{"d_head 2^62 wraps n_head*d_head", func(c *Config) { c.DHead = 1 << 62 }, "d_head 4611686018427387904 exceeds the limit"},
		{"2^32 x 2^32", func(c *Config) { c.NHeads, c.DHead, c.NKVHeads = 1<<32, 1<<32, 1<<32 }, "n_heads 4294967296 exceeds the limit"},
		{"n_heads x d_head", func(c *Config) { c.NHeads, c.DHead, c.NKVHeads = 1<<12, 1<<12, 1<<12 }, "n_heads·d_head = 4096·4096 = 16777216 exceeds the limit of 4194304"},
		{"n_layers", func(c *Config) { c.NLayers = 1 << 40 }, "n_layers 1099511627776 exceeds the limit of 4096"},
		{"d_vocab", func(c *Config) { c.DVocab = MaxDim + 1 }, "d_vocab 4194305 exceeds"},
		{"negative", func(c *Config) { c.NCtx = -1 }, "n_ctx must be positive"},
		// Every size within MaxDim, but the products far beyond MaxParams.
		{"too many parameters", func(c *Config) { c.DModel, c.DVocab, c.NCtx, c.DHead, c.DMLP = 1<<22, 1<<22, 1<<22, 1<<20, 1<<20 },
			"more than the limit of 68719476736"},
		{"at the layer limit", func(c *Config) { c.NLayers = MaxLayers }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.WithDefaults().Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestParamBytes: four bytes a parameter of the layout; +Inf for an invalid config.
func TestParamBytes(t *testing.T) {
	c := Config{NLayers: 2, NHeads: 1, DModel: 4, DMLP: 3, NCtx: 2, DVocab: 5, Untied: true}.WithDefaults()
	if b := c.ParamBytes(); b != 4*float64(paramCount(c)) {
		t.Errorf("ParamBytes = %g, want %d", b, 4*paramCount(c))
	}
	c.NLayers = 1 << 40
	if b := c.ParamBytes(); !math.IsInf(b, 1) {
		t.Errorf("ParamBytes of an invalid config = %g, want +Inf", b)
	}
}

// TestForwardBytes: the estimate is of the order of what a retained pass really holds.
func TestForwardBytes(t *testing.T) {
	c := Config{NLayers: 2, NHeads: 4, DModel: 32, NCtx: 16, DVocab: 50}.WithDefaults()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 3, 16
	toks := make([]int, B*T)
	p, err := m.Forward(toks, B, T, toks, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	held := 0
	for _, b := range p.mem.bufs {
		held += 4 * len(*b)
	}
	est := c.ForwardBytes(B, T)
	if est < float64(held)/2 || est > 2*float64(held) {
		t.Errorf("ForwardBytes = %g, the pass holds %d bytes", est, held)
	}
}
