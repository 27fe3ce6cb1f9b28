package config

// Checked is a config that fills in its own defaults and says what is wrong
// with it: the config types of lab and study/repeated.
type Checked[C any] interface {
	// WithDefaults returns the config with the fields left at zero filled.
	WithDefaults() C
	// Validate reports what is wrong with a config whose defaults are filled.
	Validate() error
}

// LoadChecked resolves a C from src (Load), fills its defaults and validates
// it. A source's error is returned as Load gives it; an invalid config is a
// one-line error (OneLineErr), so that a user sees every problem at once.
func LoadChecked[C Checked[C]](src Sources) (C, error) {
	var c, zero C
	if _, err := Load(&c, src); err != nil {
		return zero, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return zero, OneLineErr(err)
	}
	return c, nil
}
