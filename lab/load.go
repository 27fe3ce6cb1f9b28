package lab

import "github.com/mechinterp/mechinterp/internal/config"

// LoadPrefsConfig resolves a preference-model run's config with package
// config's rules: the YAML file (none when file is ""), then MECHINTERP_*
// environment variables (MECHINTERP_TRAIN_STEPS=500), over the defaults.
// Unknown keys and invalid values are one-line errors.
func LoadPrefsConfig(file string) (PrefsConfig, error) {
	return config.LoadChecked[PrefsConfig](config.Sources{File: file, Doc: "docs/alignment-lab.md"})
}

// LoadStudyConfig resolves a study's config from a YAML file (none when
// file is "") and MECHINTERP_* variables over the defaults, as
// LoadPrefsConfig does.
func LoadStudyConfig(file string) (StudyConfig, error) {
	return config.LoadChecked[StudyConfig](config.Sources{File: file, Doc: "docs/alignment-lab.md"})
}
