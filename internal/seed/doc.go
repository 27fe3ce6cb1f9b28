// Package seed derives independent random streams from one user-given seed.
//
// A run draws random numbers for several purposes (initial weights, training
// data, evaluation batches, sparse-autoencoder initialization ...) and often
// for many indexed instances at once. Deriving each stream's seed by adding
// the index to the base seed, or by XOR with a constant, leaves neighbouring
// streams correlated when the generator's seeding is weak. Derive instead
// passes (base, index, purpose) through the SplitMix64 finalizer, a bijective
// mixer with full avalanche, so that every bit of every input flips about
// half the output bits: streams of neighbouring indices, or of the same index
// with different purposes, are statistically independent.
//
// Rand is the small fast generator the float64 training loops draw from
// (wyrand); New seeds it through the same mixer.
package seed
