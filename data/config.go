package data

import (
	"fmt"
)

// Source kinds for [Config].
const (
	KindRepeated  = "repeated"
	KindSynthetic = "synthetic"
	KindText      = "text"
)

// Config selects and configures a source; it is the `data:` section of a
// training config:
//
//	data:
//	  kind: synthetic
//	  seed: 1
//	  synthetic:
//	    vocab: 128
//	    min_span: 10
//	    max_span: 29
//
// Only the section named by Kind is used.
type Config struct {
	// Kind is "repeated", "synthetic" (default) or "text".
	Kind string `json:"kind" mapstructure:"kind" yaml:"kind"`
	// Seed seeds the stream of sequences.
	Seed      uint64          `json:"seed" mapstructure:"seed" yaml:"seed"`
	Repeated  RepeatedConfig  `json:"repeated" mapstructure:"repeated" yaml:"repeated"`
	Synthetic SyntheticConfig `json:"synthetic" mapstructure:"synthetic" yaml:"synthetic"`
	Text      TextConfig      `json:"text" mapstructure:"text" yaml:"text"`
}

// WithDefaults fills the fields left at zero, in the section Kind names.
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		c.Kind = KindSynthetic
	}
	switch c.Kind {
	case KindRepeated:
		c.Repeated = c.Repeated.WithDefaults()
	case KindSynthetic:
		c.Synthetic = c.Synthetic.WithDefaults()
	case KindText:
		c.Text = c.Text.WithDefaults()
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults), without
// reading any file.
func (c Config) Validate() error {
	switch c.Kind {
	case KindRepeated:
		return c.Repeated.Validate()
	case KindSynthetic:
		return c.Synthetic.Validate()
	case KindText:
		return c.Text.Validate()
	}
	return fmt.Errorf("data: kind %q is not one of %s, %s, %s", c.Kind, KindRepeated, KindSynthetic, KindText)
}

// New returns the source c describes (defaults filled in). Text sources use
// the byte tokenizer.
func New(c Config) (Indexed, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.Kind {
	case KindRepeated:
		return NewRepeated(c.Repeated, c.Seed)
	case KindText:
		return NewText(c.Text, nil, c.Seed)
	}
	return NewSynthetic(c.Synthetic, c.Seed)
}
