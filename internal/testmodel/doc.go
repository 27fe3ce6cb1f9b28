// Package testmodel builds the small models that tests across the module
// share: seeded random models, an all-zero model for weights set by hand, a
// hand-set attention model whose heads have exactly known behaviour, and
// checkpoint and run directories (saved or briefly trained) to point
// commands at. Every helper fails the test on error, so tests read as one
// line per model.
//
// The package is for tests only. It imports models, data and train, so the
// internal tests of those three packages cannot use it (their external
// _test packages can).
package testmodel
