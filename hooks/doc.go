// Package hooks reads and rewrites a model's activations by hook-point name,
// as TransformerLens does: caches that keep only the names a filter selects,
// hooks that replace an activation for one call, zero- and mean-ablation of a
// head, patching from another run's cache, and gradients at hook points.
//
// Hooks are scoped to a single Run: nothing stays attached to the model, and
// an error inside a hook ends that call with the error.
//
// Names are TransformerLens's (see models.HookNames): hook_embed,
// blocks.0.attn.hook_pattern, ln_final.hook_normalized, ... Gradients are
// named "<name>_grad".
package hooks
