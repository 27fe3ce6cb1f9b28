// Package sae trains sparse autoencoders on any [N, d] activation matrix:
// the hidden states of a toy model of superposition, or the activations a
// transformer's hook point records.
//
// An SAE with F features reconstructs a d-dimensional activation x as
//
//	x_bar = x - b_d
//	f     = σ(W_e x_bar + b_e)
//	x_hat = W_d f + b_d
//
// where σ is the architecture's activation function and the loss is
// mean ||x - x_hat||^2 plus its sparsity penalty (docs/REFERENCE.md,
// "Sparse autoencoders"). Config.Architecture names σ and the penalty; today
// the one architecture is ReLU with an L1 penalty (Bricken et al. 2023,
// Towards Monosemanticity; Sharkey et al. 2022), decoder columns held at unit
// norm. Other architectures (TopK, BatchTopK, JumpReLU) plug in behind the
// same seam, the unexported activation interface.
//
// Train fits an SAE with the module's one AdamW (package train) and returns
// a Result with the training curves and the metrics of docs/REFERENCE.md:
// L0, the fraction of variance explained, dead features, the feature-density
// histogram and, when the true feature directions are known (toy data), the
// mean max cosine similarity MMCS. Forward and backward are hand-written and
// checked against finite differences in the tests.
package sae
