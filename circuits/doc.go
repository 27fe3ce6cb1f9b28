// Package circuits explains attention heads from their weights, and finds
// the components that carry a behaviour by patching activations between two
// runs.
//
// From the weights (Elhage et al. 2021, A Mathematical Framework for
// Transformer Circuits):
//
//   - QK and OV circuits per head as low-rank Factored matrices (TransformerLens's
//     FactoredMatrix): W_Q W_K^T and W_V W_O [d_model, d_model], and the full
//     circuits through the embedding and unembedding, W_E W_V W_O W_U [vocab, vocab]
//     and W_E W_Q W_K^T W_E^T. Products, eigenvalues, singular values and norms
//     are computed on the small d_head-sized factors, never on the full product.
//   - The OV eigenvalue copying score, sum(λ)/sum(|λ|) over the full OV circuit's
//     eigenvalues: +1 for a head that copies the token it attends to, -1 for one
//     that suppresses it.
//   - Q-, K- and V-composition scores for every pair of heads in different layers,
//     ||L R||_F / (||L||_F ||R||_F), each set beside the same score of random
//     Gaussian matrices of the same shapes (Composition, Baseline).
//
// The weights are read as TransformerLens reads a checkpoint with its defaults
// (fold_ln, center_writing_weights): in a model with LayerNorm the gains of ln1
// are folded into W_Q, W_K and W_V, the gain of ln_final into W_U, and the
// matrices that write into the residual stream (W_E, W_pos, W_O) have their
// mean over d_model removed, because LayerNorm discards it. The unembedding is
// not centred. Without LayerNorm the weights are used as they are.
//
// From runs of the model:
//
//   - Direct logit attribution: the final residual stream split into the
//     embeddings, each head, each MLP and the biases, each term divided by
//     ln_final's scale and projected on W_U[:,answer] - W_U[:,wrong]; the terms
//     sum to the logit difference.
//   - Activation patching (Meng et al. 2022; Wang et al. 2022, Interpretability
//     in the Wild): clean activations are patched into the corrupted run, one
//     component at a time, and the logit difference is normalised so that 1 is
//     the clean run and 0 the corrupted one. Residual stream by layer and
//     position, attention and MLP outputs by layer and position, each head's
//     output, and each head at each position.
//   - Attribution patching (Nanda 2023): the first-order approximation
//     (clean - corrupted activation) · d metric / d activation at the corrupted
//     run, from one forward and one backward pass, for the same components.
package circuits
