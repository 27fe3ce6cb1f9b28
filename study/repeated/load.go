package repeated

import (
	"github.com/mechinterp/mechinterp/internal/config"
)

// LoadStudy resolves a study config with package config's rules: the
// default study ([DefaultConfig]), over it the keys of file (none when file
// is ""; a key given replaces the default's value, lists included), then
// MECHINTERP_* environment variables (MECHINTERP_TRAIN_STEPS=500). Unknown
// keys and invalid values are one-line errors; the study returned has its
// defaults filled in and is valid.
func LoadStudy(file string) (Study, error) {
	return config.LoadChecked[Study](config.Sources{File: file, Base: DefaultConfig, BaseName: "the default study",
		Doc: "docs/repeated-data.md"})
}
