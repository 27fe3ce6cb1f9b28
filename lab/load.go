package lab

import "github.com/mechinterp/mechinterp/internal/config"

// LoadPrefsConfig resolves a preference-model run's config with package
// config's rules: the YAML file (none when file is ""), then MECHINTERP_*
// environment variables (MECHINTERP_TRAIN_STEPS=500), over the defaults.
// Unknown keys and invalid values are one-line errors.
func LoadPrefsConfig(file string) (PrefsConfig, error) {
	var c PrefsConfig
	if _, err := config.Load(&c, config.Sources{File: file, Doc: "docs/alignment-lab.md"}); err != nil {
		return PrefsConfig{}, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return PrefsConfig{}, config.OneLineErr(err)
	}
	return c, nil
}
