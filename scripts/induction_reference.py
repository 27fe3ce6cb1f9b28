#!/usr/bin/env python3
"""The reference induction-head recipe of docs/induction-heads.md, in plain PyTorch.

A 2-layer attention-only transformer (4 heads, d_model 64, d_head 16, pre-LayerNorm,
learned positions, context 64, vocabulary 128, untied unembedding with bias, no BOS)
with PyTorch's default initialisation, trained with AdamW (lr 3e-3 constant, betas
(0.9, 0.999), eps 1e-8, weight decay 0.01 on every parameter, no clipping, no warmup)
on batches of 32 sequences of 64 tokens:

  - sequences 0-15 are uniform random tokens; sequences 16-31 follow a Markov chain
    whose row for token a is the vector p(rank i) ~ 1/i rolled by a's own uniform
    random offset (drawn once), the first token uniform;
  - every sequence then gets one span: n ~ U{10..29}, s ~ U{0..64-2n-1},
    d ~ U{s+n..64-n}, x[d:d+n] = x[s:s+n] (the copy overwrites);
  - the loss is on all 63 next-token predictions.

It is the twin of docs/recipes/induction-reference.yaml (data kind "reference",
model init "pytorch", train.decay "all"). The run directory it writes has the layout of
`mechinterp train`: metrics.jsonl (one line per step, the keys of train.Metrics),
run.yaml (the recipe's data section, so that `mechinterp track` measures prefix
matching on r + r without BOS) and checkpoints/step-NNNNNN/{config.json,
model.safetensors} in mechinterp's layout, so that the same `mechinterp track RUN`
reads both sides. It also measures prefix matching itself (Olsson et al. 2022: on
r + r, |r| = 25, r uniform random tokens, no BOS, the mean attention from each token of
the second copy to the token after its earlier occurrence) and prints a line per
checkpoint.

  /usr/bin/python3 scripts/induction_reference.py --seed 0 --out /tmp/torch-ref-0

--unrolled is an ablation: every row of the chain the same 1/rank vector, so that the chain
half is i.i.d. Zipfian tokens in which the commonest tokens recur many times per sequence
(what the synthetic language's 127-successor chain is). docs/induction-heads.md reports it.

--golden FILE writes, instead of training, one batch, the initial weights, the loss, the
gradients and the weights after one and two AdamW steps as safetensors, for the Go test
that checks mechinterp's data-independent arithmetic against this model.

Needs Debian's python3-torch; run with /usr/bin/python3. No other package.
"""
import argparse, json, math, os, struct, time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, CTX, D, HEADS, LAYERS, BATCH = 128, 64, 64, 4, 2, 32


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D)  # Q, K, V side by side; heads consecutive in each
        self.o = nn.Linear(D, D)

    def forward(self, x, patterns=None):
        B, T, _ = x.shape
        dh = D // HEADS
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, HEADS, dh).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-1, -2) / math.sqrt(dh)
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        p = s.softmax(-1)
        if patterns is not None:
            patterns.append(p)
        return x + self.o((p @ v).transpose(1, 2).reshape(B, T, D))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.wpe = nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.lnf = nn.LayerNorm(D)
        self.unembed = nn.Linear(D, VOCAB)

    def forward(self, idx, patterns=None):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x, patterns)
        return self.unembed(self.lnf(x))

    def mechinterp_tensors(self):
        """The weights under mechinterp's (Hugging Face GPT-2) names and layouts."""
        t = {"wte.weight": self.wte.weight, "wpe.weight": self.wpe.weight}
        for l, b in enumerate(self.blocks):
            t[f"h.{l}.ln_1.weight"] = b.ln1.weight
            t[f"h.{l}.ln_1.bias"] = b.ln1.bias
            t[f"h.{l}.attn.c_attn.weight"] = b.qkv.weight.t()  # Conv1D layout [in, out]
            t[f"h.{l}.attn.c_attn.bias"] = b.qkv.bias
            t[f"h.{l}.attn.c_proj.weight"] = b.o.weight.t()
            t[f"h.{l}.attn.c_proj.bias"] = b.o.bias
        t["ln_f.weight"], t["ln_f.bias"] = self.lnf.weight, self.lnf.bias
        t["lm_head.weight"], t["lm_head.bias"] = self.unembed.weight, self.unembed.bias
        return {k: v.detach().float().clone().contiguous() for k, v in t.items()}

    def mechinterp_grads(self):
        saved = {}
        for name, p in self.named_parameters():
            saved[name] = p.data
            p.data = p.grad
        g = self.mechinterp_tensors()
        for name, p in self.named_parameters():
            p.data = saved[name]
        return g


class Data:
    """The recipe's batches, from a generator of their own."""

    def __init__(self, seed, rolled=True):
        self.g = torch.Generator().manual_seed(seed)
        zipf = 1 / torch.arange(1, VOCAB + 1, dtype=torch.float64)
        zipf /= zipf.sum()
        offsets = torch.randint(0, VOCAB, (VOCAB,), generator=self.g)
        if not rolled:  # every row the same: tokens i.i.d. Zipfian, the commonest in every sequence
            offsets.zero_()
        self.trans = torch.stack([zipf.roll(int(o)) for o in offsets])  # row a: next-token probabilities

    def batch(self):
        x = torch.randint(0, VOCAB, (BATCH, CTX), generator=self.g)
        half = BATCH // 2
        for t in range(1, CTX):  # the chain half; its first token stays uniform
            x[half:, t] = torch.multinomial(self.trans[x[half:, t - 1]], 1, generator=self.g)[:, 0]
        for i in range(BATCH):
            n = int(torch.randint(10, 30, (1,), generator=self.g))
            s = int(torch.randint(0, CTX - 2 * n, (1,), generator=self.g))
            d = int(torch.randint(s + n, CTX - n + 1, (1,), generator=self.g))
            x[i, d:d + n] = x[i, s:s + n].clone()
        return x


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        b = tensors[k].numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def save_checkpoint(run, step, model, seed):
    d = os.path.join(run, "checkpoints", f"step-{step:06d}")
    os.makedirs(d, exist_ok=True)
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB,
           "n_positions": CTX, "n_ctx": CTX, "n_embd": D, "n_layer": LAYERS, "n_head": HEADS,
           "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05,
           "tie_word_embeddings": False, "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0,
           "initializer_range": 0.02, "scale_attn_weights": True,
           "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
           "torch_dtype": "float32", "mechinterp_format_version": 1, "mechinterp_attn_only": True,
           "mechinterp_normalization": "LN", "mechinterp_positional": "standard",
           "mechinterp_d_head": D // HEADS, "mechinterp_seed": seed}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), model.mechinterp_tensors())


def prefix_matching(model, prompts):
    """Per layer, per head: mean attention from position q of the second copy to q - n + 1."""
    n = prompts.shape[1] // 2
    pats = []
    with torch.no_grad():
        model(prompts, pats)
    q = torch.arange(n, 2 * n)
    return [p[:, :, q, q - n + 1].mean(dim=(0, 2)).tolist() for p in pats]


def checkpoint_steps(steps, every):
    # Log-spaced early (1, 2, 4, ...), then every `every` steps, as train.CheckpointSchedule does.
    s = {0, steps}
    k = 1
    while k < every:
        s.add(k)
        k *= 2
    s.update(range(every, steps + 1, every))
    return sorted(s)


def golden(path, seed):
    """One batch and two AdamW steps from the recipe's initial weights."""
    torch.manual_seed(seed)
    model = Model()
    x = Data(seed).batch()
    out = {"tokens": x.float(), **{"init." + k: v for k, v in model.mechinterp_tensors().items()}}
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    for step in (1, 2):
        loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, VOCAB), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        out[f"loss{step}"] = loss.detach().reshape(1)
        out.update({f"grad{step}." + k: v for k, v in model.mechinterp_grads().items()})
        opt.step()
        out.update({f"step{step}." + k: v for k, v in model.mechinterp_tensors().items()})
    write_safetensors(path, out)


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--steps", type=int, default=3000)
    a.add_argument("--every", type=int, default=50, help="checkpoint and probe every N steps")
    a.add_argument("--out", help="run directory (mechinterp's layout)")
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--golden", help="write the one-batch golden file instead of training")
    a.add_argument("--unrolled", action="store_true",
                   help="ablation: the chain's rows not rolled, so its tokens are i.i.d. Zipfian")
    a = a.parse_args()
    torch.set_num_threads(a.threads)
    if a.golden:
        golden(a.golden, a.seed)
        return
    if not a.out:
        a.error("--out is required")
    torch.manual_seed(a.seed)  # the initial weights
    model = Model()
    data = Data(a.seed, rolled=not a.unrolled)
    # The probe's prompts: 32 sequences r + r, |r| = 25, r uniform over the vocabulary, no BOS.
    r = torch.randint(0, VOCAB, (32, 25), generator=torch.Generator().manual_seed(1_000_003 + a.seed))
    prompts = torch.cat([r, r], dim=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "run.yaml"), "w") as f:
        f.write("# Written by scripts/induction_reference.py: the recipe's data section, for mechinterp track.\n"
                "model:\n  n_layers: 2\n  n_heads: 4\n  d_model: 64\n  n_ctx: 64\n  d_vocab: 128\n"
                "  attn_only: true\n  untied: true\n  init: pytorch\n"
                f"data:\n  kind: reference\n  seed: {a.seed}\n  reference:\n    vocab: 128\n"
                "train:\n  seq_len: 63\n  lr: 0.003\n  min_lr: 0.003\n  warmup: 0\n"
                "  weight_decay: 0.01\n  decay: all\n  beta2: 0.999\n  grad_clip: 0\n"
                f"  steps: {a.steps}\n")
    saves = set(checkpoint_steps(a.steps, a.every))
    metrics = open(os.path.join(a.out, "metrics.jsonl"), "w")
    t0 = time.time()
    for step in range(0, a.steps + 1):
        if step > 0:
            x = data.batch()
            loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, VOCAB), x[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            metrics.write(json.dumps({"step": step, "tokens": step * BATCH * (CTX - 1),
                                      "loss": loss.item(), "lr": 3e-3, "time": time.time() - t0}) + "\n")
        if step in saves:
            save_checkpoint(a.out, step, model, a.seed)
            pm = prefix_matching(model, prompts)
            print(json.dumps({"step": step, "loss": None if step == 0 else round(loss.item(), 4),
                              "prefix_matching_l1": [round(v, 3) for v in pm[1]],
                              "best_l1": round(max(pm[1]), 3)}), flush=True)
    metrics.close()


if __name__ == "__main__":
    main()
