#!/usr/bin/python3
"""PyTorch counterparts of `mechinterp bench`, for side-by-side timing.

Every workload takes the flags of `mechinterp bench` (cmd/mechinterp/bench*.go)
and prints one JSON line with the same keys, so that scripts/bench-vs-torch.sh
and scripts/bench-memory.sh can run the two alternately and compare them as
ratios (docs/PERFORMANCE.md). Run it with Debian's interpreter, which finds
Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):

  /usr/bin/python3 scripts/torch_ref.py train --layers 2 --heads 8 --d-model 256 --ctx 128 --batch 16 --vocab 2048 [--attn-only] --steps 20
      forward, cross-entropy, backward and an AdamW step of a GPT-2-style model
  /usr/bin/python3 scripts/torch_ref.py cache (model flags) [--names 'blocks.*.attn.hook_pattern'] --steps 20
      a forward pass without gradients that keeps the activations named by --names
      (TransformerLens hook names, * matches any run of characters; the default
      keeps every hook point, as `mechinterp bench cache` does)
  /usr/bin/python3 scripts/torch_ref.py sample (model flags) --prompt 16 --new 112 --batch 8 --steps 3
      sampling at temperature 1 with a key/value cache: the prompt in one pass,
      then one forward pass per new token of each sequence; new_tokens_per_s
      (the model's positions cover max(--ctx, --prompt + --new))
  /usr/bin/python3 scripts/torch_ref.py toy --instances 16 --features 20 --hidden 5 --batch 1024 --steps 200
      the ReLU-output toy model of superposition, all instances trained at once
  /usr/bin/python3 scripts/torch_ref.py gemm --m 512 --n 512 --k 512 [--trans-a] [--trans-b] --steps 20
      one float32 matrix multiply through torch.mm (PyTorch's BLAS)
  /usr/bin/python3 scripts/torch_ref.py sae --d-in 512 --d-sae 4096 --batch 4096 [--k 32] [--l1 5] [--l0 64] --steps 5
      a sparse autoencoder training step: TopK with --k, else ReLU + L1; Adam,
      decoder rows renormalised after each step (SAELens practice); --l0 starts
      a ReLU SAE with the sparse code of a trained one (see sae_workload)

Every workload but sample (one) runs 3 untimed warm-up steps, then --steps timed ones, on
--threads threads (default 2). The model has what `mechinterp bench` builds:
learned positions, pre-LayerNorm blocks, one fused QKV projection, causal
softmax attention, a GELU (tanh) MLP of width 4*d_model unless --attn-only, a
final LayerNorm and an untied unembedding with a bias; tokens and targets are
uniform random.
"""
import argparse
import fnmatch
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


# ---- the transformer ----


class Hooks:
    """Keeps the activations whose TransformerLens names match the patterns.

    Patterns are comma-separated; * matches any run of characters. As in
    mechinterp, blocks.{l}.attn.hook_result is only computed when a pattern
    names it. Kept tensors are references (no copies), dropped with the list.
    """

    def __init__(self, names):
        self.patterns = [p.strip() for p in names.split(",") if p.strip()]
        self.result = any("hook_result" in p for p in self.patterns)
        self.kept = []

    def want(self, name):
        if name.endswith("hook_result") and not self.result:
            return False
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def __call__(self, name, t):
        if self.want(name):
            self.kept.append((name, t))


class LayerNorm(nn.LayerNorm):
    def run(self, x, name, hooks):
        # The fused kernel unless the caller wants hook_scale or
        # hook_normalized, which only the unfused form exposes.
        if hooks is None or not (hooks.want(name + "hook_scale") or hooks.want(name + "hook_normalized")):
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        c = x - x.mean(-1, keepdim=True)
        scale = (c.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt()
        hooks(name + "hook_scale", scale)
        n = c * scale
        hooks(name + "hook_normalized", n)
        return n * self.weight + self.bias


class Block(nn.Module):
    def __init__(self, d_model, heads, attn_only):
        super().__init__()
        self.heads, self.d_head = heads, d_model // heads
        self.ln1 = LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.attn_only = attn_only
        if not attn_only:
            self.ln2 = LayerNorm(d_model)
            self.mlp_in = nn.Linear(d_model, 4 * d_model)
            self.mlp_out = nn.Linear(4 * d_model, d_model)

    def forward(self, x, mask, p, hooks):
        B, T, D = x.shape
        H, dh = self.heads, self.d_head
        if hooks:
            hooks(p + "hook_resid_pre", x)
        h = self.ln1.run(x, p + "ln1.", hooks)
        q, k, v = self.qkv(h).view(B, T, 3, H, dh).unbind(2)  # each [B, T, H, dh]
        scores = (q.transpose(1, 2) @ k.permute(0, 2, 3, 1)) / math.sqrt(dh)  # [B, H, T, T]
        scores = scores.masked_fill(mask[:T, :T], float("-inf"))
        pattern = scores.softmax(-1)
        z = (pattern @ v.transpose(1, 2)).transpose(1, 2)  # [B, T, H, dh]
        attn = self.out(z.reshape(B, T, D))
        if hooks:
            for name, t in (("hook_q", q), ("hook_k", k), ("hook_v", v), ("hook_attn_scores", scores),
                            ("hook_pattern", pattern), ("hook_z", z)):
                hooks(p + "attn." + name, t)
            if hooks.want(p + "attn.hook_result"):
                w = self.out.weight.t().view(H, dh, D)
                hooks(p + "attn.hook_result", torch.einsum("bthe,hed->bthd", z, w))
            hooks(p + "hook_attn_out", attn)
        x = x + attn
        if not self.attn_only:
            if hooks:
                hooks(p + "hook_resid_mid", x)
            pre = self.mlp_in(self.ln2.run(x, p + "ln2.", hooks))
            post = F.gelu(pre, approximate="tanh")
            mlp = self.mlp_out(post)
            if hooks:
                hooks(p + "mlp.hook_pre", pre)
                hooks(p + "mlp.hook_post", post)
                hooks(p + "hook_mlp_out", mlp)
            x = x + mlp
        if hooks:
            hooks(p + "hook_resid_post", x)
        return x

    def step(self, x, cache):
        """Runs positions that continue the ones in cache (a list holding this
        block's keys and values [B, H, t, dh] so far, empty at first)."""
        B, T, D = x.shape
        H, dh = self.heads, self.d_head
        q, k, v = self.qkv(self.ln1.run(x, "", None)).view(B, T, 3, H, dh).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, dh]
        if cache:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        cache[:] = [k, v]
        past = k.shape[2] - T
        scores = (q @ k.transpose(2, 3)) / math.sqrt(dh)  # [B, H, T, past+T]
        mask = torch.ones(T, past + T, dtype=torch.bool).triu(past + 1)
        z = (scores.masked_fill(mask, float("-inf")).softmax(-1) @ v).transpose(1, 2)
        x = x + self.out(z.reshape(B, T, D))
        if not self.attn_only:
            x = x + self.mlp_out(F.gelu(self.mlp_in(self.ln2.run(x, "", None)), approximate="tanh"))
        return x


class Transformer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.d_model)
        self.pos_embed = nn.Embedding(a.ctx, a.d_model)
        self.blocks = nn.ModuleList(Block(a.d_model, a.heads, a.attn_only) for _ in range(a.layers))
        self.ln_final = LayerNorm(a.d_model)
        self.unembed = nn.Linear(a.d_model, a.vocab)
        self.register_buffer("mask", torch.ones(a.ctx, a.ctx, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, tokens, hooks=None):
        T = tokens.shape[1]
        e, pe = self.embed(tokens), self.pos_embed(torch.arange(T))
        if hooks:
            hooks("hook_embed", e)
            hooks("hook_pos_embed", pe.expand_as(e))
        x = e + pe
        for l, b in enumerate(self.blocks):
            x = b(x, self.mask, "blocks.%d." % l, hooks)
        return self.unembed(self.ln_final.run(x, "ln_final.", hooks))

    def step(self, tokens, pos, caches):
        """Logits of the last position of tokens [B, T], which continue pos
        cached positions."""
        T = tokens.shape[1]
        x = self.embed(tokens) + self.pos_embed(torch.arange(pos, pos + T))
        for b, c in zip(self.blocks, caches):
            x = b.step(x, c)
        return self.unembed(self.ln_final.run(x[:, -1], "", None))


# ---- workloads ----


def seconds_per_step(step, steps, warmup=3):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def model_workload(a):
    model = Transformer(a)
    tokens = torch.randint(0, a.vocab, (a.batch, a.ctx))
    targets = torch.randint(0, a.vocab, (a.batch, a.ctx))
    if a.workload == "train":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

        def step():
            logits = model(tokens)
            loss = F.cross_entropy(logits.view(-1, a.vocab), targets.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        def step():
            # A fresh cache per step, dropped at its end: one step's
            # activations are alive at a time, as in mechinterp.
            with torch.no_grad():
                hooks = Hooks(a.names)
                model(tokens, hooks)
                if not hooks.kept:
                    raise SystemExit("torch_ref.py: --names %r keeps no activation" % a.names)

    dt = seconds_per_step(step, a.steps)
    return {"workload": a.workload, "layers": a.layers, "heads": a.heads, "d_model": a.d_model,
            "ctx": a.ctx, "batch": a.batch, "vocab": a.vocab, "attn_only": a.attn_only,
            "params": sum(p.numel() for p in model.parameters()), "threads": a.threads,
            "tokens_per_s": a.batch * a.ctx / dt, "ms_per_step": dt * 1e3}


def sample_workload(a):
    a.ctx = max(a.ctx, a.prompt + a.new)
    model = Transformer(a)
    prompt = torch.randint(0, a.vocab, (a.batch, a.prompt))

    def step():
        with torch.no_grad():
            caches = [[] for _ in model.blocks]
            tokens, pos = prompt, 0
            for _ in range(a.new):
                logits = model.step(tokens, pos, caches)
                pos += tokens.shape[1]
                tokens = torch.multinomial(logits.softmax(-1), 1)

    dt = seconds_per_step(step, a.steps, warmup=1)
    return {"workload": "sample", "layers": a.layers, "heads": a.heads, "d_model": a.d_model,
            "vocab": a.vocab, "batch": a.batch, "prompt": a.prompt, "new": a.new,
            "attn_only": a.attn_only, "threads": a.threads, "new_tokens_per_s": a.batch * a.new / dt}


def toy_workload(a):
    # Elhage et al. 2022 (docs/REFERENCE.md, "Superposition"): x' = ReLU(W^T W x + b)
    # per instance; instance i has sparsity 0.99*i/(I-1) and every instance the
    # importance 0.9^f; loss = sum over instances of the batch mean of
    # sum_f I_f (x_f - x'_f)^2. Xavier-normal W, zero b, AdamW lr 1e-3.
    I, n, m = a.instances, a.features, a.hidden
    W = nn.Parameter(torch.randn(I, m, n) * math.sqrt(2.0 / (n + m)))
    b = nn.Parameter(torch.zeros(I, 1, n))
    opt = torch.optim.AdamW([W, b], lr=1e-3, weight_decay=0.0)
    importance = 0.9 ** torch.arange(n, dtype=torch.float32)
    density = 1 - torch.linspace(0.0, 0.99, I).view(I, 1, 1)

    def step():
        x = torch.rand(I, a.batch, n) * (torch.rand(I, a.batch, n) < density)
        h = x @ W.transpose(1, 2)  # [I, batch, m]
        out = F.relu(h @ W + b)
        loss = ((x - out).pow(2) * importance).sum(-1).mean(-1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    dt = seconds_per_step(step, a.steps)
    return {"workload": "toy", "instances": I, "features": n, "hidden": m, "batch": a.batch,
            "steps_per_s": 1 / dt, "samples_per_s": a.batch * I / dt, "threads": a.threads}


def gemm_workload(a):
    # C = op(A) op(B), op(A) m x k, op(B) k x n, stored row-major as
    # `mechinterp bench gemm` stores them (A as k x m with --trans-a, B as
    # n x k with --trans-b); 2mnk flops per multiply.
    m, n, k = a.m, a.n, a.k
    A = torch.rand(k, m) * 2 - 1 if a.trans_a else torch.rand(m, k) * 2 - 1
    B = torch.rand(n, k) * 2 - 1 if a.trans_b else torch.rand(k, n) * 2 - 1
    opA, opB = (A.t() if a.trans_a else A), (B.t() if a.trans_b else B)
    C = torch.empty(m, n)
    for _ in range(3):
        torch.mm(opA, opB, out=C)
    start, done = time.perf_counter(), 0
    while done < a.steps or time.perf_counter() - start < 0.2:
        torch.mm(opA, opB, out=C)
        done += 1
    dt = (time.perf_counter() - start) / done
    return {"workload": "gemm", "impl": "torch", "m": m, "n": n, "k": k, "trans_a": a.trans_a,
            "trans_b": a.trans_b, "threads": a.threads, "gflops": 2.0 * m * n * k / dt / 1e9,
            "ms_per_op": dt * 1e3}


def sae_workload(a):
    # A sparse autoencoder step on stored activations (SAELens practice):
    # x_hat = f W_dec + b_dec, f = TopK(pre) with --k, else ReLU(pre) with
    # the L1 penalty --l1 * sum_k f_k ||W_dec,k||; pre = (x - b_dec) W_enc +
    # b_enc; loss = batch mean of ||x - x_hat||^2 (+ penalty); Adam lr 4e-4;
    # decoder rows renormalised to unit norm after each step. Batches cycle
    # through 16 batches of standard normal activations, whose pre-activations
    # through the near-unit encoder columns are near standard normal: a fresh
    # SAE (b_enc = 0) has half its latents active, while a ReLU SAE that L1
    # training has made sparse has a few dozen of thousands. --l0 L starts
    # b_enc at -Phi^-1(1 - L/d_sae), so that L latents of each row fire, as
    # `mechinterp bench sae --l0` does; "l0" reports the mean active latents
    # per row after the timed steps.
    d, n = a.d_in, a.d_sae
    acts = torch.randn(16 * a.batch, d)
    W_enc = nn.Parameter(torch.randn(d, n) / math.sqrt(d))
    W_dec = nn.Parameter(W_enc.detach().t().clone())
    bias = 0.0
    if a.l0:
        bias = -statistics.NormalDist().inv_cdf(1 - a.l0 / n)
    b_enc = nn.Parameter(torch.full((n,), bias))
    b_dec = nn.Parameter(torch.zeros(d))
    opt = torch.optim.Adam([W_enc, W_dec, b_enc, b_dec], lr=4e-4)
    state = {"i": 0}
    topk = a.k is not None

    def step():
        i = state["i"] % 16
        state["i"] += 1
        x = acts[i * a.batch:(i + 1) * a.batch]
        z = (x - b_dec) @ W_enc + b_enc
        if topk:
            vals, ix = z.topk(a.k, dim=-1)
            f = torch.zeros_like(z).scatter(-1, ix, F.relu(vals))
        else:
            f = F.relu(z)
        xhat = f @ W_dec + b_dec
        loss = ((xhat - x) ** 2).sum(-1).mean()
        if not topk:
            loss = loss + a.l1 * (f * W_dec.norm(dim=1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))

    dt = seconds_per_step(step, a.steps)
    with torch.no_grad():
        x = acts[:a.batch]
        z = (x - b_dec) @ W_enc + b_enc
        l0 = a.k if topk else (z > 0).sum().item() / a.batch
    return {"workload": "sae", "d_in": d, "d_sae": n, "batch": a.batch, "k": a.k if topk else 0,
            "l0": l0, "activations_per_s": a.batch / dt, "ms_per_step": dt * 1e3, "threads": a.threads}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=["train", "cache", "sample", "toy", "gemm", "sae"])
    p.add_argument("--layers", type=int, default=2, help="transformer layers")
    p.add_argument("--heads", type=int, default=8, help="attention heads")
    p.add_argument("--d-model", type=int, default=256, help="residual width")
    p.add_argument("--ctx", type=int, default=128, help="sequence length")
    p.add_argument("--batch", type=int, default=16, help="sequences per step (toy: samples per step)")
    p.add_argument("--vocab", type=int, default=2048, help="vocabulary size")
    p.add_argument("--attn-only", action="store_true", help="attention-only blocks")
    p.add_argument("--steps", type=int, default=20, help="timed steps (after 3 warm-up steps)")
    p.add_argument("--threads", type=int, default=2, help="cores to use")
    p.add_argument("--prompt", type=int, default=16, help="sample: prompt tokens")
    p.add_argument("--new", type=int, default=112, help="sample: tokens generated per sequence")
    p.add_argument("--instances", type=int, default=16, help="toy: instances trained at once")
    p.add_argument("--features", type=int, default=20, help="toy: features")
    p.add_argument("--hidden", type=int, default=5, help="toy: hidden dimensions")
    p.add_argument("--names", default="*", help="cache: hook-point filter of the activations to keep")
    p.add_argument("--m", type=int, default=512, help="gemm: rows of op(A) and C")
    p.add_argument("--n", type=int, default=512, help="gemm: columns of op(B) and C")
    p.add_argument("--k", type=int, default=None, help="gemm: the inner dimension (default 512); sae: TopK's k (not given: ReLU + L1)")
    p.add_argument("--trans-a", action="store_true", help="gemm: A is stored transposed (k x m)")
    p.add_argument("--trans-b", action="store_true", help="gemm: B is stored transposed (n x k)")
    p.add_argument("--d-in", type=int, default=512, help="sae: activation width")
    p.add_argument("--d-sae", type=int, default=4096, help="sae: dictionary size")
    p.add_argument("--l1", type=float, default=5.0, help="sae: L1 coefficient (ReLU, when --k is not given)")
    p.add_argument("--l0", type=float, default=0.0, help="sae: ReLU's starting active latents per row (0: a fresh SAE, half of them)")
    a = p.parse_args()
    if a.k is None and a.workload != "sae":
        a.k = 512
    for flag in ("layers", "heads", "d_model", "ctx", "batch", "vocab", "steps", "threads",
                 "instances", "features", "hidden", "m", "n", "k", "prompt", "new", "d_in", "d_sae"):
        if getattr(a, flag) is not None and getattr(a, flag) <= 0:
            p.error("--%s must be positive" % flag.replace("_", "-"))
    if not 0 <= a.l0 < a.d_sae:
        p.error("--l0 must be in [0, --d-sae)")
    if a.workload in ("train", "cache", "sample") and a.d_model % a.heads:
        p.error("--d-model must be a multiple of --heads")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    run = {"toy": toy_workload, "gemm": gemm_workload, "sample": sample_workload, "sae": sae_workload}.get(a.workload, model_workload)
    print(json.dumps(run(a)))


if __name__ == "__main__":
    main()
