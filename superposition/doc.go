// Package superposition implements the toy models of Elhage et al. 2022
// (Toy Models of Superposition), their data distributions, batched training
// of many instances at once, the metrics and geometry readout of the paper,
// sparsity sweeps and phase diagrams, and the "sae" experiment, which trains
// package sae's sparse autoencoders on a toy model's hidden activations.
//
// Models map n features into m hidden dimensions: Linear (x' = W^T W x + b),
// ReLUOutput (x' = ReLU(W^T W x + b)), ReLUHidden (h = ReLU(W x),
// x' = ReLU(W^T h + b)) and AbsValue (|x| through an untied ReLU hidden
// layer). Train runs many Instances, each with its own density, importance,
// feature sets and seed, spread over goroutines; forward and backward are
// hand-written (checked against finite differences in the tests), batched
// feature-major so that the inner loops run over the batch with package
// tensor's float64 kernels (AVX2/FMA on amd64, pure Go elsewhere). Each
// instance steps with train.AdamW and draws its initial weights, its data
// and its evaluation batch from independent streams derived from its seed
// (internal/seed), so neighbouring seeds are unrelated.
//
// Metrics take W feature-major (W[i] is the paper's column W_i): FeatureNorms,
// Interference, DStar, Dimensionalities, Vulnerability, Neurons and
// ReadGeometry, which names the structures found (antipodal pairs, triangles,
// pentagons, tetrahedra, square antiprisms). Analyze bundles them for one
// trained instance. Every result type is a plain struct with JSON tags, the
// input of package report's pages; RunExperiment runs the ready experiments behind
// `mechinterp superposition <experiment>`, whose configs are embedded from
// configs/*.yaml. docs/superposition.md is the user guide.
//
// Where things are: model.go (kinds, weights, reference Forward and Loss),
// backward.go (per-sample forward and backward), batch.go (the batched
// feature-major step), data.go (distributions and sampling), config.go,
// trainer.go and train.go (one instance's state, then Train over many),
// metrics.go and geometry.go (the paper's measurements), analysis.go,
// sweep.go and phase.go (sparsity sweeps, phase diagrams), experiments.go
// and sae.go (the ready experiments).
package superposition
