"""Golden data for lab's preference-model losses (lab/golden_test.go).

A tiny GPT-2 (testdata/golden/gen.py's reference implementation) with a
scalar reward head r = w . ln_final(x)[last] + b reads comparisons of
different lengths, padded on the right with token 0. The script writes the
checkpoint, the head, the comparisons, and for the ranked-preference
(Bradley-Terry) and binary-discrimination objectives the loss and the
gradient of every parameter and of the head, computed in float64.

Run with PyTorch (Debian's python3-torch): /usr/bin/python3 testdata/lab/gen.py
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
from safetensors_writer import write_safetensors  # noqa: E402
from gen import GPT, config_json, DT  # noqa: E402  (testdata/golden/gen.py)

CFG = dict(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=32, n_ctx=10, d_vocab=13, eps=1e-5,
           ln=True, shortformer=False, untied=False, emb_std=0.3, seed=7)
P = 3  # comparisons


def main():
    gen = torch.Generator().manual_seed(2024)
    C = CFG["d_model"]
    lengths_c = [7, 10, 4]
    lengths_r = [9, 5, 10]
    seqs = [torch.randint(1, CFG["d_vocab"], (n,), generator=gen) for n in lengths_c + lengths_r]
    T = max(len(s) for s in seqs)
    tokens = torch.zeros(2 * P, T, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = s
    last = torch.tensor([len(s) - 1 for s in seqs])

    out = {"tokens": tokens.to(DT), "lengths": (last + 1).to(DT)}
    w0 = (0.5 * torch.randn(C, generator=gen, dtype=DT)).float().to(DT)
    b0 = torch.tensor([0.3], dtype=DT)
    out["head.weight"], out["head.bias"] = w0, b0
    first = None
    for obj in ("preference", "binary"):
        model = GPT(CFG, torch.Generator().manual_seed(1000 + CFG["seed"]))
        if first is None:
            first = model
        w = w0.clone().requires_grad_(True)
        b = b0.clone().requires_grad_(True)
        model(tokens)
        final = model.acts["ln_final.hook_normalized"]  # [2P,T,C]
        r = final[torch.arange(2 * P), last] @ w + b  # [2P]
        rc, rr = r[:P], r[P:]
        if obj == "preference":
            loss = F.softplus(rr - rc).mean()  # log(1 + exp(r_rejected - r_chosen))
        else:
            y = torch.cat([torch.ones(P, dtype=DT), -torch.ones(P, dtype=DT)])
            loss = F.softplus(-y * r).mean()
        loss.backward()
        out[obj + ".loss"] = loss.reshape(1)
        out[obj + ".rewards"] = r.detach()
        out[obj + ".grad.head.weight"] = w.grad
        out[obj + ".grad.head.bias"] = b.grad
        for n in model.names:  # the unembedding gets no gradient from a reward
            g = model.w(n).grad
            out[obj + ".grad." + n] = torch.zeros_like(model.w(n)) if g is None else g

    write_safetensors(os.path.join(HERE, "model.safetensors"), {n: first.w(n).detach() for n in first.names},
                      {"format": "pt"})
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(config_json(CFG), f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(HERE, "expected.safetensors"), out,
                      {"generator": "testdata/lab/gen.py", "torch": torch.__version__})
    print("preference loss %.6f, binary loss %.6f" % (out["preference.loss"].item(), out["binary.loss"].item()))


if __name__ == "__main__":
    main()
