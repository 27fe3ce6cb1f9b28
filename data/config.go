package data

import (
	"errors"
	"fmt"
	"strings"
)

// Source kinds for [Config].
const (
	KindRepeated  = "repeated"
	KindSynthetic = "synthetic"
	KindText      = "text"
)

// Kinds lists every source kind, each the name of its section in [Config].
var Kinds = []string{KindRepeated, KindSynthetic, KindText, KindReference, KindGoroot}

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
// Only the section named by Kind is used, and Mixture, which applies to
// every kind: with mixture.fraction > 0 the source is a [Mixture] over the
// kind's source (the repeated-data setting of Hernandez et al. 2022).
type Config struct {
	// Kind is "repeated", "synthetic" (default), "text", "reference" or
	// "goroot" (the Go distribution's sources and docs, [NewGoroot]).
	Kind string `json:"kind" mapstructure:"kind" yaml:"kind"`
	// Seed seeds the stream of sequences.
	Seed      uint64          `json:"seed" mapstructure:"seed" yaml:"seed"`
	Repeated  RepeatedConfig  `json:"repeated" mapstructure:"repeated" yaml:"repeated"`
	Synthetic SyntheticConfig `json:"synthetic" mapstructure:"synthetic" yaml:"synthetic"`
	Text      TextConfig      `json:"text" mapstructure:"text" yaml:"text"`
	Reference ReferenceConfig `json:"reference" mapstructure:"reference" yaml:"reference"`
	Goroot    GorootConfig    `json:"goroot" mapstructure:"goroot" yaml:"goroot"`
	// Mixture, when Fraction > 0, makes [New] return a [Mixture] over the
	// kind's source, with seed Seed. Its Sequences must be set first (the
	// CLI sets it to steps × batch_size).
	Mixture MixtureConfig `json:"mixture" mapstructure:"mixture" yaml:"mixture"`
}

// WithDefaults fills the fields left at zero, in the section Kind names. With
// a mixture (mixture.fraction > 0) over text it sets text.order to
// "sequential", whatever it was: a mixture's unique sequences must not
// overlap.
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		c.Kind = KindSynthetic
	}
	switch c.Kind {
	case KindRepeated:
		c.Repeated = c.Repeated.WithDefaults()
	case KindSynthetic:
		c.Synthetic = c.Synthetic.WithDefaults()
	case KindReference:
		c.Reference = c.Reference.WithDefaults()
	case KindText:
		if c.Mixture.Fraction > 0 {
			// A mixture needs non-overlapping windows (see NewMixture).
			c.Text.Order = OrderSequential
		}
		c.Text = c.Text.WithDefaults()
	case KindGoroot:
		if c.Mixture.Fraction > 0 {
			c.Goroot.Order = OrderSequential
		}
		c.Goroot = c.Goroot.WithDefaults()
	}
	return c
}

// Validate reports what is wrong with c (after WithDefaults), without
// reading any file. mixture.sequences 0 passes here, as "to be filled in"
// before [New].
func (c Config) Validate() error {
	var err error
	switch c.Kind {
	case KindRepeated:
		err = c.Repeated.Validate()
	case KindSynthetic:
		err = c.Synthetic.Validate()
	case KindText:
		err = c.Text.Validate()
	case KindReference:
		err = c.Reference.Validate()
	case KindGoroot:
		err = c.Goroot.Validate()
	default:
		err = fmt.Errorf("data: kind %q is not one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
	return errors.Join(err, c.Mixture.validate(false))
}

// New returns the source c describes (defaults filled in): the kind's
// source, or with mixture.fraction > 0 a [Mixture] over it (see
// [NewMixtureFrom]). Text sources use the byte tokenizer.
func New(c Config) (Indexed, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Mixture.Fraction > 0 {
		m, err := NewMixtureFrom(c)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return newBase(c)
}

// NewMixtureFrom returns the [Mixture] of c.Mixture over the source c.Kind
// names, with seed c.Seed, also when c.Mixture.Fraction is 0 (then every
// training sequence is unique, and the held-out set is the same as at any
// f > 0: the baseline of a repeated-data study). c.Mixture.Sequences must be
// set. A text corpus is read in order "sequential" whatever c.Text.Order
// says, so that no window overlaps another, and must hold H+S+U windows of
// the row length (checked when rows are read, since only they fix it).
func NewMixtureFrom(c Config) (*Mixture, error) {
	switch c.Kind {
	case KindText:
		c.Text.Order = OrderSequential
	case KindGoroot:
		c.Goroot.Order = OrderSequential
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Mixture.Sequences == 0 {
		return nil, errors.New("data: mixture: sequences (the training budget N) is 0: set it to steps × batch_size")
	}
	base, err := newBase(c)
	if err != nil {
		return nil, err
	}
	return NewMixture(base, c.Mixture, c.Seed)
}

// newBase returns the source of c.Kind, c valid and defaults filled in.
func newBase(c Config) (Indexed, error) {
	switch c.Kind {
	case KindRepeated:
		return NewRepeated(c.Repeated, c.Seed)
	case KindText:
		return NewText(c.Text, nil, c.Seed)
	case KindReference:
		return NewReference(c.Reference, c.Seed)
	case KindGoroot:
		return NewGoroot(c.Goroot, c.Seed)
	}
	return NewSynthetic(c.Synthetic, c.Seed)
}
