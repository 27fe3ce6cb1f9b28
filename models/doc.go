// Package models is the GPT-2 style decoder the toolkit looks inside: its
// Config, its parameters by name, Forward and Backward written out layer by
// layer in the manner of llm.c's train_gpt2.c, GPT-2 initialization, weight
// accessors with TransformerLens names and shapes, and checkpoint I/O.
//
// Forward fires a hook at every TransformerLens hook point (hook_embed,
// blocks.0.attn.hook_pattern, ...). A hook sees a view of the live activation
// and may return a replacement, which then flows into everything downstream.
// The hooks package builds caches, ablations and patching on that one seam.
//
// Shapes in comments use B (batch), T (positions), C (d_model), H (heads),
// D (d_head), M (d_mlp) and V (vocabulary).
package models
