// Package models is the GPT-2 style decoder the toolkit looks inside: its
// Config, its parameters by name, Forward and Backward written out layer by
// layer in the manner of llm.c's train_gpt2.c, GPT-2 initialization, weight
// accessors with TransformerLens names and shapes, and checkpoint I/O.
//
// Forward fires a hook at every TransformerLens hook point (hook_embed,
// blocks.0.attn.hook_pattern, ...). A hook sees a view of the live activation
// and may return a replacement, which then flows into everything downstream.
// The hooks package builds caches, ablations and patching on that one seam.
// ActName builds those names from short ones as TransformerLens's
// get_act_name does (ActName("pattern", 1) is blocks.1.attn.hook_pattern),
// HookNames lists a config's points in firing order, and Head names one
// attention head ("L1H2") for every package that reports on heads.
//
// Load reads mechinterp checkpoints and Hugging Face GPT-2 directories alike
// (GPT2LMHeadModel or GPT2Model names, Conv1D layouts, tied or untied
// embeddings), streaming each tensor into the one parameter buffer so that
// loading peaks near the weights' size. Process applies TransformerLens's
// weight processing (fold_ln, center_writing, center_unembed,
// fold_value_biases), each step leaving the model's predictions unchanged;
// LoadProcessed loads and processes in one go (docs/gpt2.md).
//
// Shapes in comments use B (batch), T (positions), C (d_model), H (heads),
// D (d_head), M (d_mlp) and V (vocabulary).
package models
