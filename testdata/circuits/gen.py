#!/usr/bin/python3
"""Golden reference for circuits/golden_test.go, computed in plain PyTorch.

Run from anywhere:   /usr/bin/python3 testdata/circuits/gen.py
(Debian: apt-get install python3-torch). For each model below it writes, next
to itself, a directory holding

  weights.safetensors  fixed random weights under TransformerLens names
                       (W_E, W_pos, W_U, ln_final.w, blocks.L.W_Q, ...), F32
  expected.json        the config and what PyTorch computes from them

expected.json holds, computed in float64 from the float32-rounded weights and
on the FULL matrices (not on factors, so the Go code's low-rank shortcuts are
checked against the definition):

  heads[i]            layer, head, ov_eigenvalues / qk_eigenvalues (the d_head
                      largest-magnitude eigenvalues of the full OV circuit
                      W_E W_V W_O W_U and full QK circuit W_E W_Q W_K^T W_E^T,
                      as [re, im]), ov_copying / qk_copying (sum(l)/sum(|l|)
                      over all eigenvalues of the full matrix, real part of the
                      numerator; Elhage et al. 2021), ov_singular (the d_head
                      largest singular values of W_V W_O), qk_norm (Frobenius)
  composition.Q|K|V   [L*H][L*H] matrix, ||L R||_F / (||L||_F ||R||_F) with
                      L = W_V W_O of the earlier head and R = W_Q W_K^T, its
                      transpose, or W_V W_O of the later head; null unless the
                      earlier head's layer is below the later head's.

Weights are processed as TransformerLens's fold_ln and center_writing_weights
do when the model has LayerNorm: ln1.w folded into W_Q, W_K, W_V (rows of the
[d_model, d_head] matrices), ln_final.w into the rows of W_U, and W_E, W_pos,
W_O centred over d_model. The output is deterministic (seeded generator, CPU).
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from safetensors_writer import write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)

HERE = os.path.dirname(os.path.abspath(__file__))
DT = torch.float64

MODELS = {
    # LayerNorm, untied unembedding, d_head * n_heads != d_model.
    "ln_untied": dict(n_layers=3, n_heads=4, d_model=24, d_head=5, n_ctx=10, d_vocab=30, ln=True, untied=True, seed=11),
    # No LayerNorm, tied unembedding (W_U = W_E^T).
    "no_ln_tied": dict(n_layers=2, n_heads=3, d_model=18, d_head=6, n_ctx=8, d_vocab=25, ln=False, untied=False, seed=12),
}


def build(name, cfg):
    gen = torch.Generator().manual_seed(cfg["seed"])
    L, H, C, D = cfg["n_layers"], cfg["n_heads"], cfg["d_model"], cfg["d_head"]
    V, N = cfg["d_vocab"], cfg["n_ctx"]

    def rnd(*shape, std=1.0, mean=0.0):
        # float32-rounded (what the checkpoint holds), used in float64.
        return (mean + std * torch.randn(*shape, generator=gen, dtype=DT)).float().to(DT)

    w = {"W_E": rnd(V, C, std=0.5), "W_pos": rnd(N, C, std=0.3)}
    w["W_U"] = rnd(C, V, std=0.4) if cfg["untied"] else w["W_E"].T.clone()
    if cfg["ln"]:
        w["ln_final.w"] = rnd(C, std=0.2, mean=1.0)
    for l in range(L):
        p = "blocks.%d." % l
        for k in ("W_Q", "W_K", "W_V"):
            w[p + k] = rnd(H, C, D, std=0.3)
        w[p + "W_O"] = rnd(H, D, C, std=0.3)
        if cfg["ln"]:
            w[p + "ln1.w"] = rnd(C, std=0.2, mean=1.0)

    # Fold and centre (TransformerLens fold_ln, center_writing_weights).
    def centre(x):
        return x - x.mean(-1, keepdim=True)

    WE, WU = w["W_E"], w["W_U"]
    WQ = [w["blocks.%d.W_Q" % l] for l in range(L)]
    WK = [w["blocks.%d.W_K" % l] for l in range(L)]
    WV = [w["blocks.%d.W_V" % l] for l in range(L)]
    WO = [w["blocks.%d.W_O" % l] for l in range(L)]
    if cfg["ln"]:
        WE = centre(WE)
        WU = w["ln_final.w"][:, None] * WU
        for l in range(L):
            g = w["blocks.%d.ln1.w" % l][None, :, None]
            WQ[l], WK[l], WV[l] = g * WQ[l], g * WK[l], g * WV[l]
            WO[l] = centre(WO[l])

    def copying(eig):
        return (eig.sum().real / eig.abs().sum()).item()

    def top(eig, k):
        idx = torch.argsort(eig.abs(), descending=True)[:k]
        return [[v.real.item(), v.imag.item()] for v in eig[idx]]

    heads, OV, QK = [], [], []
    for l in range(L):
        for h in range(H):
            ov = WV[l][h] @ WO[l][h]            # [C, C]
            qk = WQ[l][h] @ WK[l][h].T          # [C, C]
            OV.append(ov)
            QK.append(qk)
            full_ov = WE @ ov @ WU              # [V, V]
            full_qk = WE @ qk @ WE.T            # [V, V]
            ov_eig = torch.linalg.eigvals(full_ov)
            qk_eig = torch.linalg.eigvals(full_qk)
            heads.append({
                "layer": l, "head": h,
                "ov_eigenvalues": top(ov_eig, D), "qk_eigenvalues": top(qk_eig, D),
                "ov_copying": copying(ov_eig), "qk_copying": copying(qk_eig),
                "ov_singular": torch.linalg.svdvals(ov)[:D].tolist(),
                "qk_norm": torch.linalg.norm(qk).item(),
            })

    comp = {}
    for kind in ("Q", "K", "V"):
        rows = []
        for i in range(L * H):
            row = []
            for j in range(L * H):
                if i // H >= j // H:
                    row.append(None)
                    continue
                left = OV[i]
                right = {"Q": QK[j], "K": QK[j].T, "V": OV[j]}[kind]
                row.append((torch.linalg.norm(left @ right) / (torch.linalg.norm(left) * torch.linalg.norm(right))).item())
            rows.append(row)
        comp[kind] = rows

    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "weights.safetensors"), w)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"config": {k: v for k, v in cfg.items() if k != "seed"}, "heads": heads, "composition": comp}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    for n, c in MODELS.items():
        build(n, c)
