#!/usr/bin/python3
"""PyTorch counterpart of BenchmarkCacheArch (hooks/arch_bench_test.go), for
side-by-side timing (docs/PERFORMANCE.md, "GPT-NeoX and Llama shapes"):

  /usr/bin/python3 scripts/torch_arch_ref.py pythia160m [--tokens 128] [--steps 10] [--threads 2]
  /usr/bin/python3 scripts/torch_arch_ref.py llama

A forward pass without gradients, in float32, of a model with random weights
(normal, 0.02) on --tokens random tokens (batch 1), keeping a reference to the
activation at every TransformerLens hook point, as a full cache does. The
shapes: Pythia-160M (12 layers, d_model 768, 12 heads, rotary on a quarter of
each head, parallel attention and MLP, exact GELU, d_mlp 3072, vocabulary
50304, untied) and a Llama-shaped model (12 layers, d_model 768, 12 query and
4 key/value heads, RMSNorm, SwiGLU with d_mlp 2048, vocabulary 32000). The
blocks are written as transformers' modeling_gpt_neox.py and
modeling_llama.py compute them (see testdata/hf_arch/gen.py, which checks
the same forward passes against mechinterp's). Prints one JSON line:
tokens_per_s, ms_per_step.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

SHAPES = {
    "pythia160m": dict(layers=12, d_model=768, heads=12, kv_heads=12, d_mlp=3072, vocab=50304, rotary_pct=0.25,
                       base=10000.0, parallel=True, norm="LN", gated=False, act="gelu"),
    "llama": dict(layers=12, d_model=768, heads=12, kv_heads=4, d_mlp=2048, vocab=32000, rotary_pct=1.0,
                  base=10000.0, parallel=False, norm="RMS", gated=True, act="silu"),
}


def weights(s):
    C, H, K, M, V = s["d_model"], s["heads"], s["kv_heads"], s["d_mlp"], s["vocab"]
    D = C // H
    n = lambda *shape: torch.randn(*shape) * 0.02  # noqa: E731
    w = {"embed": n(V, C), "unembed": n(V, C), "lnf.w": torch.ones(C), "lnf.b": torch.zeros(C)}
    for l in range(s["layers"]):
        p = "%d." % l
        w[p + "ln1.w"], w[p + "ln1.b"] = torch.ones(C), torch.zeros(C)
        w[p + "ln2.w"], w[p + "ln2.b"] = torch.ones(C), torch.zeros(C)
        w[p + "qkv"] = n((H + 2 * K) * D, C)
        w[p + "qkv.b"] = torch.zeros((H + 2 * K) * D) if s["norm"] == "LN" else None
        w[p + "o"] = n(C, H * D)
        w[p + "o.b"] = torch.zeros(C) if s["norm"] == "LN" else None
        w[p + "up"] = n(M, C)
        w[p + "gate"] = n(M, C) if s["gated"] else None
        w[p + "down"] = n(C, M)
        w[p + "up.b"] = torch.zeros(M) if s["norm"] == "LN" else None
        w[p + "down.b"] = torch.zeros(C) if s["norm"] == "LN" else None
    return w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def forward(s, w, tokens, cos, sin, mask, keep):
    C, H, K = s["d_model"], s["heads"], s["kv_heads"]
    D = C // H
    R = int(D * s["rotary_pct"])
    B, T = tokens.shape

    def norm(x, name, p):
        if s["norm"] == "LN":
            c = x - x.mean(-1, keepdim=True)
            scale = (c.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()
            out = c / scale * w[p + ".w"] + w[p + ".b"]
            keep(name + ".hook_scale", scale)
            keep(name + ".hook_normalized", out)
            return out
        scale = (x.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt()
        xn = x / scale
        keep(name + ".hook_scale", scale)
        keep(name + ".hook_normalized", xn)
        return xn * w[p + ".w"]

    x = F.embedding(tokens, w["embed"])
    keep("hook_embed", x)
    for l in range(s["layers"]):
        p, b = "%d." % l, "blocks.%d." % l
        keep(b + "hook_resid_pre", x)
        h = norm(x, b + "ln1", p + "ln1")
        qkv = F.linear(h, w[p + "qkv"], w[p + "qkv.b"])
        q, k, v = qkv.split([H * D, K * D, K * D], dim=-1)
        q, k, v = q.view(B, T, H, D), k.view(B, T, K, D), v.view(B, T, K, D)
        keep(b + "attn.hook_q", q)
        keep(b + "attn.hook_k", k)
        keep(b + "attn.hook_v", v)
        qr = torch.cat((q[..., :R] * cos + rotate_half(q[..., :R]) * sin, q[..., R:]), dim=-1)
        kr = torch.cat((k[..., :R] * cos + rotate_half(k[..., :R]) * sin, k[..., R:]), dim=-1)
        keep(b + "attn.hook_rot_q", qr)
        keep(b + "attn.hook_rot_k", kr)
        qh = qr.transpose(1, 2)  # [B,H,T,D]
        kh = kr.transpose(1, 2).repeat_interleave(H // K, dim=1)
        vh = v.transpose(1, 2).repeat_interleave(H // K, dim=1)
        scores = (qh @ kh.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(mask[:T, :T], float("-inf"))
        pattern = scores.softmax(-1)
        z = (pattern @ vh).transpose(1, 2)  # [B,T,H,D]
        keep(b + "attn.hook_attn_scores", scores)
        keep(b + "attn.hook_pattern", pattern)
        keep(b + "attn.hook_z", z)
        attn = F.linear(z.reshape(B, T, H * D), w[p + "o"], w[p + "o.b"])
        keep(b + "hook_attn_out", attn)
        if s["parallel"]:
            mlp_in = x
        else:
            mlp_in = x + attn
            keep(b + "hook_resid_mid", mlp_in)
        h2 = norm(mlp_in, b + "ln2", p + "ln2")
        if s["gated"]:
            pre = F.linear(h2, w[p + "gate"])
            lin = F.linear(h2, w[p + "up"])
            post = F.silu(pre) * lin
            keep(b + "mlp.hook_pre", pre)
            keep(b + "mlp.hook_pre_linear", lin)
        else:
            pre = F.linear(h2, w[p + "up"], w[p + "up.b"])
            post = F.gelu(pre)
            keep(b + "mlp.hook_pre", pre)
        keep(b + "mlp.hook_post", post)
        mlp = F.linear(post, w[p + "down"], w[p + "down.b"])
        keep(b + "hook_mlp_out", mlp)
        x = x + attn + mlp if s["parallel"] else mlp_in + mlp
        keep(b + "hook_resid_post", x)
    x = norm(x, "ln_final", "lnf")
    return F.linear(x, w["unembed"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = SHAPES[a.shape]
    w = weights(s)
    T = a.tokens
    D = s["d_model"] // s["heads"]
    R = int(D * s["rotary_pct"])
    inv_freq = 1.0 / (s["base"] ** (torch.arange(0, R, 2, dtype=torch.int64).float() / R))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    tokens = torch.randint(0, s["vocab"], (1, T))

    def step():
        kept = []
        with torch.no_grad():
            forward(s, w, tokens, cos, sin, mask, lambda name, t: kept.append((name, t)))
        return len(kept)

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - start) / a.steps
    print(json.dumps({"workload": "cache", "shape": a.shape, "tokens": T, "threads": a.threads,
                      "tokens_per_s": T / dt, "ms_per_step": dt * 1e3}))


if __name__ == "__main__":
    main()
