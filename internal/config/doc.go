// Package config resolves settings the one way every part of mechinterp
// does: flags beat MECHINTERP_* environment variables, which beat a YAML
// file, which beats the defaults. A file key that names no setting is an
// error, and so is a value of the wrong type; every error is one line that
// names the key, so that a command can print it as it is.
//
// A setting is a dotted key (train.checkpoints.every) derived from the
// mapstructure tags of a config struct; its environment variable is the key
// in upper case with dots and dashes turned into underscores, after the
// MECHINTERP_ prefix (MECHINTERP_TRAIN_CHECKPOINTS_EVERY).
package config
