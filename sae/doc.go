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
// "Sparse autoencoders"). Config.Architecture names σ and the penalty: ReLU
// with an L1 penalty (Bricken et al. 2023, Towards Monosemanticity; Sharkey
// et al. 2022); TopK, the k largest pre-activations and no penalty (Gao et
// al. 2024); BatchTopK, the k·batch largest over the batch with a threshold
// estimated for inference (Bussmann et al. 2024); or JumpReLU, a learned
// threshold per latent with an L0 penalty trained through straight-through
// estimators (Rajamanoharan et al. 2024). Config.AuxK adds Gao et al.'s
// auxiliary loss for dead latents; decoder rows are held at unit norm.
// Training runs on whole batches (step.go: forward and backward side by
// side), in float32 through tensor.Gemm for transformer-sized SAEs, with
// sparse paths over the active latents of TopK and BatchTopK.
//
// On a transformer, a [Store] streams the activations of one hook point
// over a corpus through a shuffle buffer (SAELens's ActivationsStore),
// [TrainStore] trains on it, [Evaluate] scores an SAE under SAELens's metric
// names (L0, explained variance, MSE, CE loss score with the SAE spliced in
// at the hook, KL, dead and dense features), and [SAE.Save] and [Load] read
// and write SAELens's directory layout (cfg.json, sae_weights.safetensors).
//
// Train fits an SAE with the module's one AdamW (package train), with
// SAELens's learning-rate and L1 warm-up and decay, and returns
// a Result with the training curves and the metrics of docs/REFERENCE.md:
// L0, the fraction of variance explained, dead features, the feature-density
// histogram and, when the true feature directions are known (toy data), the
// mean max cosine similarity MMCS. Forward and backward are hand-written and
// checked against finite differences in the tests.
package sae
