// Package probes computes scores by running a model: the attention-head
// detectors of TransformerLens (previous-token, duplicate-token and induction
// heads), the prefix-matching and copying scores of Olsson et al. 2022 ("In-context
// Learning and Induction Heads"), induction loss and its per-position curve on
// repeated random tokens, the in-context-learning score, a role per head, a
// generic linear probe on cached activations, and Track, which follows all of
// these over the checkpoints of a training run and locates the loss bump.
//
// Patterns are row-major [query, key] as in the hook point
// blocks.{l}.attn.hook_pattern [batch, head, query_pos, key_pos]. Scores are
// returned as [layer][head] matrices of float64.
//
// The scores computed from weights alone (QK/OV circuits, composition,
// eigenvalue copying) live in package circuits.
package probes
