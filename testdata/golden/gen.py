#!/usr/bin/python3
"""Golden reference for models/golden_test.go, computed in plain PyTorch.

Run from the repository root:   /usr/bin/python3 testdata/golden/gen.py
(Debian: apt-get install python3-torch). It rewrites one directory per model
under testdata/golden/, each holding

  config.json           Hugging Face GPT-2 keys + mechinterp_* extensions
  model.safetensors     the weights, Hugging Face GPT-2 names and layouts
  expected.safetensors  inputs and the PyTorch results (see write_expected)

The model below is written from the formulas (GPT-2, Radford et al. 2019;
hook names and shapes of TransformerLens), independently of the Go code. The
weights are drawn in float64, rounded to float32 (what the checkpoint holds),
and the reference is computed in float64 from those rounded values; results
are stored as float32.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from safetensors_writer import write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)
from gpt2_params import add_blocks  # noqa: E402  (testdata/gpt2_params.py)
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DT = torch.float64
B, T = 2, 12


class GPT(torch.nn.Module):
    """Pre-LN GPT-2 decoder with TransformerLens hook points.

    cfg keys: n_layers, n_heads, d_model, d_head, d_mlp (0 = attention only),
    n_ctx, d_vocab, ln (bool), shortformer (bool), untied (bool), eps.
    Parameters use Hugging Face GPT-2 names; Conv1D weights are [in, out], so
    a linear layer is x @ W + b.
    """

    def __init__(self, cfg, gen):
        super().__init__()
        self.cfg = cfg
        C, H, D, M = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_mlp"]
        V, N = cfg["d_vocab"], cfg["n_ctx"]
        self.names = []

        def add(name, shape, std, mean=0.0):
            # Round to float32 (the checkpoint's precision), compute in float64.
            w = (mean + std * torch.randn(*shape, generator=gen, dtype=DT)).float().to(DT)
            self.register_parameter(name.replace(".", "__"), torch.nn.Parameter(w))
            self.names.append(name)

        add("wte.weight", (V, C), cfg["emb_std"])
        add("wpe.weight", (N, C), cfg["emb_std"])
        add_blocks(add, cfg["n_layers"], C, H * D, M, ln=cfg["ln"])
        if cfg["untied"]:
            add("lm_head.weight", (V, C), 0.3)
        add("lm_head.bias", (V,), 0.2)

    def w(self, name):
        return getattr(self, name.replace(".", "__"))

    def hook(self, name, x):
        """Record an activation (and, for its gradient, retain it)."""
        if x.requires_grad:
            x.retain_grad()
        self.acts[name] = x
        return x

    def layer_norm(self, prefix, x, w, b):
        # TransformerLens's LayerNorm: centre, scale = sqrt(var + eps), divide,
        # then the gain and bias; hook_normalized sees the LayerNorm's output.
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook(prefix + "hook_scale", (x.pow(2).mean(-1, keepdim=True) + self.cfg["eps"]).sqrt())
        return self.hook(prefix + "hook_normalized", x / scale * w + b)

    def forward(self, tokens):
        cfg = self.cfg
        H, D = cfg["n_heads"], cfg["d_head"]
        Bn, Tn = tokens.shape
        self.acts = {}
        embed = self.hook("hook_embed", self.w("wte.weight")[tokens])  # [B,T,C]
        pos = self.hook("hook_pos_embed", self.w("wpe.weight")[:Tn].unsqueeze(0).expand(Bn, Tn, -1))
        x = embed if cfg["shortformer"] else embed + pos
        causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
        for l in range(cfg["n_layers"]):
            p, blk = "h.%d." % l, "blocks.%d." % l
            x = self.hook(blk + "hook_resid_pre", x)
            if cfg["ln"]:
                a_in = self.layer_norm(blk + "ln1.", x, self.w(p + "ln_1.weight"), self.w(p + "ln_1.bias"))
            else:
                a_in = x
            # Shortformer: positions enter the queries' and keys' inputs only.
            qk_in = a_in + pos if cfg["shortformer"] else a_in
            Wq, Wk, Wv = self.w(p + "attn.c_attn.weight").split(H * D, dim=1)
            bq, bk, bv = self.w(p + "attn.c_attn.bias").split(H * D)
            q = self.hook(blk + "attn.hook_q", (qk_in @ Wq + bq).view(Bn, Tn, H, D))
            k = self.hook(blk + "attn.hook_k", (qk_in @ Wk + bk).view(Bn, Tn, H, D))
            v = self.hook(blk + "attn.hook_v", (a_in @ Wv + bv).view(Bn, Tn, H, D))
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(D)
            scores = self.hook(blk + "attn.hook_attn_scores", scores.masked_fill(~causal, -math.inf))
            pattern = self.hook(blk + "attn.hook_pattern", torch.softmax(scores, dim=-1))
            z = self.hook(blk + "attn.hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
            Wo = self.w(p + "attn.c_proj.weight").view(H, D, -1)  # rows of c_proj are head-major
            self.hook(blk + "attn.hook_result", torch.einsum("bqhd,hdc->bqhc", z, Wo))
            attn_out = self.hook(blk + "hook_attn_out", z.reshape(Bn, Tn, H * D) @ self.w(p + "attn.c_proj.weight")
                                 + self.w(p + "attn.c_proj.bias"))
            x = x + attn_out
            if cfg["d_mlp"]:
                x = self.hook(blk + "hook_resid_mid", x)
                if cfg["ln"]:
                    m_in = self.layer_norm(blk + "ln2.", x, self.w(p + "ln_2.weight"), self.w(p + "ln_2.bias"))
                else:
                    m_in = x
                pre = self.hook(blk + "mlp.hook_pre", m_in @ self.w(p + "mlp.c_fc.weight") + self.w(p + "mlp.c_fc.bias"))
                # GELU, tanh approximation ("gelu_new").
                post = 0.5 * pre * (1 + torch.tanh(math.sqrt(2 / math.pi) * (pre + 0.044715 * pre.pow(3))))
                post = self.hook(blk + "mlp.hook_post", post)
                mlp_out = self.hook(blk + "hook_mlp_out", post @ self.w(p + "mlp.c_proj.weight")
                                    + self.w(p + "mlp.c_proj.bias"))
                x = x + mlp_out
            x = self.hook(blk + "hook_resid_post", x)
        if cfg["ln"]:
            x = self.layer_norm("ln_final.", x, self.w("ln_f.weight"), self.w("ln_f.bias"))
        W_U = self.w("lm_head.weight") if cfg["untied"] else self.w("wte.weight")  # stored [V,C]
        return x @ W_U.T + self.w("lm_head.bias")


def config_json(cfg):
    """config.json as models.MarshalHFConfig writes it."""
    C, H, D, M = cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["d_mlp"]
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": cfg["d_vocab"],
        "n_positions": cfg["n_ctx"],
        "n_ctx": cfg["n_ctx"],
        "n_embd": C,
        "n_layer": cfg["n_layers"],
        "n_head": H,
        "n_inner": M if M and M != 4 * C else None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": cfg["eps"],
        "tie_word_embeddings": not cfg["untied"],
        "resid_pdrop": 0,
        "embd_pdrop": 0,
        "attn_pdrop": 0,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "torch_dtype": "float32",
        "mechinterp_format_version": 1,
        "mechinterp_attn_only": not M,
        "mechinterp_normalization": "LN" if cfg["ln"] else "none",
        "mechinterp_positional": "shortformer" if cfg["shortformer"] else "standard",
        "mechinterp_d_head": D,
        "mechinterp_seed": cfg["seed"],
    }


# Activations stored (where the model has them) and activation gradients.
ACTS = [
    "hook_embed", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
    "blocks.0.attn.hook_q", "blocks.0.attn.hook_v", "blocks.0.attn.hook_attn_scores",
    "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z", "blocks.0.hook_attn_out",
    "blocks.0.hook_resid_mid", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
    "blocks.1.attn.hook_pattern", "blocks.1.hook_resid_post",
    "ln_final.hook_scale", "ln_final.hook_normalized",
]
ACT_GRADS = ["blocks.0.hook_resid_pre", "blocks.0.attn.hook_z", "blocks.1.attn.hook_v"]

BASE = dict(n_layers=2, n_heads=4, d_model=32, n_ctx=16, d_vocab=50, eps=1e-5, ln=True,
            shortformer=False, untied=False, emb_std=0.3)
MODELS = {
    # (a) GPT-2: MLPs, LayerNorm, tied unembedding.
    "gpt2": dict(BASE, d_head=8, d_mlp=128, seed=1),
    # (b) attention-only, otherwise as (a).
    "attn_only": dict(BASE, d_head=8, d_mlp=0, seed=2),
    # (c) shortformer, untied, attention-only; n_heads*d_head (20) != d_model (24).
    "shortformer_untied": dict(BASE, d_model=24, d_head=5, d_mlp=0, shortformer=True, untied=True, seed=3),
    # (d) no LayerNorm, 3 heads, MLPs of a non-default width (n_inner); tied.
    "no_ln": dict(BASE, d_model=24, n_heads=3, d_head=8, d_mlp=40, ln=False, emb_std=0.5, seed=4),
}


def build(name, cfg):
    gen = torch.Generator().manual_seed(1000 + cfg["seed"])
    model = GPT(cfg, gen)
    tokens = torch.randint(0, cfg["d_vocab"], (B, T), generator=gen)
    tokens[:, T // 2:] = tokens[:, : T - T // 2]  # a repeat, so induction-ish patterns can matter
    targets = torch.randint(0, cfg["d_vocab"], (B, T), generator=gen)
    targets[0, 3] = -1  # ignored positions: not in the mean, loss 0
    targets[1, T - 1] = -1

    logits = model(tokens)
    V = cfg["d_vocab"]
    losses = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1, reduction="none")
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    assert torch.allclose(loss, losses.sum() / (targets >= 0).sum())
    loss.backward()

    out = {
        "tokens": tokens.to(DT), "targets": targets.to(DT), "logits": logits,
        "loss": loss.reshape(1), "losses": losses.reshape(B, T),
    }
    for a in ACTS:
        if a in model.acts:
            out["act." + a] = model.acts[a]
    for a in ACT_GRADS:
        if a in model.acts:
            out["actgrad." + a] = model.acts[a].grad
    for n in model.names:
        out["grad." + n] = model.w(n).grad

    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(cfg), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), {n: model.w(n) for n in model.names}, {"format": "pt"})
    write_safetensors(os.path.join(d, "expected.safetensors"), out,
                      {"generator": "testdata/golden/gen.py", "torch": torch.__version__})
    pat = model.acts["blocks.0.attn.hook_pattern"]
    print("%-20s loss %.6f  max attention weight %.3f (of rows past 4: %.3f)  params %d" % (
        name, loss.item(), pat.max().item(), pat[:, :, 4:, :].max(-1).values.mean().item(),
        sum(model.w(n).numel() for n in model.names)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, cfg in MODELS.items():
        build(name, cfg)
