#!/usr/bin/python3
"""Golden reference for models/split_golden_test.go: split inputs in PyTorch.

Run from anywhere:   /usr/bin/python3 testdata/split_inputs/gen.py
It reads the GPT-2-shaped golden model testdata/golden/gpt2 (weights and
tokens) and writes testdata/split_inputs/expected.safetensors.

The forward is written from the formulas with TransformerLens's split inputs
(use_split_qkv_input, use_hook_mlp_in): each head's query, key and value
input, blocks.{l}.hook_q_input / hook_k_input / hook_v_input [B,T,H,C], is
resid_pre copied to every head, ln1 runs on each head's copy, and head h's
slice of W_Q, W_K, W_V reads it; blocks.{l}.hook_mlp_in [B,T,C] is a copy of
resid_mid that ln2 reads. Fixed perturbations (stored as delta.<hook name>)
are added at three split inputs, so the inputs differ between heads and the
test checks that a replacement reaches only its head. Stored (all F32):

  delta.<name>    the perturbation added at the split input <name>
  logits, loss    of the perturbed pass (mean cross-entropy over targets >= 0)
  act.<name>      q and k of layer 1 (per head, so a perturbation of one
                  head's input shows in that head only)
  actgrad.<name>  the gradient of the loss at every split input
  grad.<param>    the gradient of the loss for every parameter
"""

import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from safetensors_writer import read_safetensors, write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)
import torch.nn.functional as F  # noqa: E402

DT = torch.float64
SRC = os.path.join(os.path.dirname(HERE), "golden", "gpt2")


def main():
    torch.set_num_threads(1)
    with open(os.path.join(SRC, "config.json")) as f:
        cfg = json.load(f)
    W = {k: v.requires_grad_() for k, v in read_safetensors(os.path.join(SRC, "model.safetensors")).items()}
    ref = read_safetensors(os.path.join(SRC, "expected.safetensors"))
    tokens, targets = ref["tokens"].long(), ref["targets"].long()
    L, H, C, D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["mechinterp_d_head"]
    eps = cfg["layer_norm_epsilon"]
    Bn, Tn = tokens.shape
    gen = torch.Generator().manual_seed(17)
    deltas = {
        "blocks.1.hook_q_input": 0.5 * torch.randn(Bn, Tn, H, C, generator=gen, dtype=DT),
        "blocks.0.hook_v_input": 0.5 * torch.randn(Bn, Tn, H, C, generator=gen, dtype=DT),
        "blocks.0.hook_mlp_in": 0.5 * torch.randn(Bn, Tn, C, generator=gen, dtype=DT),
    }
    acts = {}

    def hook(name, x):
        if name in deltas:
            x = x + deltas[name]
        x.retain_grad()
        acts[name] = x
        return x

    def ln(x, w, b):
        x = x - x.mean(-1, keepdim=True)
        return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w + b

    x = W["wte.weight"][tokens] + W["wpe.weight"][:Tn].unsqueeze(0)
    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    for l in range(L):
        p, blk = "h.%d." % l, "blocks.%d." % l
        Ws = W[p + "attn.c_attn.weight"].split(H * D, dim=1)  # Q | K | V, each [C, H*D]
        bs = W[p + "attn.c_attn.bias"].split(H * D)
        qkv = []
        for i, kind in enumerate("qkv"):
            inp = hook(blk + "hook_%s_input" % kind, x.unsqueeze(2).expand(Bn, Tn, H, C))
            normed = ln(inp, W[p + "ln_1.weight"], W[p + "ln_1.bias"])
            Wh = Ws[i].view(C, H, D)
            out = torch.einsum("bthc,chd->bthd", normed, Wh) + bs[i].view(H, D)
            qkv.append(hook(blk + "attn.hook_" + kind, out))
        q, k, v = qkv
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(D)
        pattern = torch.softmax(scores.masked_fill(~causal, -math.inf), dim=-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        x = x + z.reshape(Bn, Tn, H * D) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        m_in = hook(blk + "hook_mlp_in", x.clone())
        pre = ln(m_in, W[p + "ln_2.weight"], W[p + "ln_2.bias"]) @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        post = 0.5 * pre * (1 + torch.tanh(math.sqrt(2 / math.pi) * (pre + 0.044715 * pre.pow(3))))
        x = x + post @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = ln(x, W["ln_f.weight"], W["ln_f.bias"])
    logits = x @ W["wte.weight"].T + W["lm_head.bias"]
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    loss.backward()

    out = {"logits": logits, "loss": loss.reshape(1)}
    for n, d in deltas.items():
        out["delta." + n] = d
    for n in ["blocks.1.attn.hook_q", "blocks.1.attn.hook_k"]:
        out["act." + n] = acts[n]
    for n, a in acts.items():
        if "_input" in n or n.endswith("hook_mlp_in"):
            out["actgrad." + n] = a.grad
    for n, w in W.items():
        out["grad." + n] = w.grad
    write_safetensors(os.path.join(HERE, "expected.safetensors"), out,
                      {"generator": "testdata/split_inputs/gen.py", "torch": torch.__version__})
    print("loss %.6f (unperturbed golden loss %.6f)" % (loss.item(), ref["loss"].item()))


if __name__ == "__main__":
    main()
