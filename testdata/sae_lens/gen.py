#!/usr/bin/env python3
"""Three SAEs in SAELens's saved layout, and their reconstructions in PyTorch,
for sae's tests (TestSAELensGolden).

Run from the repository root:   /usr/bin/python3 testdata/sae_lens/gen.py
(needs torch). For each architecture, writes next to itself a directory
DIR/ holding cfg.json and sae_weights.safetensors exactly as SAELens saves
them (W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec
[d_in], plus threshold [d_sae] for jumprelu; architecture "standard", "topk"
with k, or "jumprelu", the form SAELens also saves BatchTopK SAEs in), and
DIR/expected.safetensors
with inputs x [n, d_in], the feature activations f [n, d_sae] and the
reconstruction x_hat [n, d_in] that SAELens's forward computes:

  standard: f = relu((x - b_dec) @ W_enc + b_enc)
  topk:     pre = (x - b_dec) @ W_enc + b_enc; keep the k largest of each
            row (torch.topk), relu them, zero the rest
  jumprelu: pre as above; f = pre * (pre > threshold)   (SAELens's JumpReLU)
  x_hat = f @ W_dec + b_dec
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from safetensors_writer import write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)

D_IN, D_SAE, N, K = 8, 16, 6, 3


def main():
    g = torch.Generator().manual_seed(0)
    for arch in ("standard", "topk", "jumprelu"):
        d = os.path.join(HERE, arch)
        os.makedirs(d, exist_ok=True)
        w_enc = torch.randn(D_IN, D_SAE, generator=g) * 0.5
        b_enc = torch.randn(D_SAE, generator=g) * 0.1
        w_dec = torch.randn(D_SAE, D_IN, generator=g) * 0.5
        b_dec = torch.randn(D_IN, generator=g) * 0.1
        x = torch.randn(N, D_IN, generator=g)
        pre = (x - b_dec) @ w_enc + b_enc
        weights = {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec}
        if arch == "jumprelu":
            threshold = torch.rand(D_SAE, generator=g) * 0.8
            weights["threshold"] = threshold
            f = pre * (pre > threshold)
        elif arch == "topk":
            top = torch.topk(pre, K, dim=-1)
            f = torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
        else:
            f = torch.relu(pre)
        x_hat = f @ w_dec + b_dec
        cfg = {"architecture": arch, "d_in": D_IN, "d_sae": D_SAE, "dtype": "float32", "device": "cpu",
               "model_name": "test", "hook_name": "blocks.0.mlp.hook_post", "hook_layer": 0,
               "hook_head_index": None, "apply_b_dec_to_input": True, "normalize_activations": "none",
               "context_size": 64, "prepend_bos": False}
        if arch == "topk":
            cfg["k"] = K
        with open(os.path.join(d, "cfg.json"), "w") as fh:
            json.dump(cfg, fh, indent=2)
        write_safetensors(os.path.join(d, "sae_weights.safetensors"), weights)
        write_safetensors(os.path.join(d, "expected.safetensors"), {"x": x, "f": f, "x_hat": x_hat})


if __name__ == "__main__":
    main()
