#!/usr/bin/python3
"""Small random GPT-2 checkpoints laid out exactly as Hugging Face writes
them, with a PyTorch reference, for models/hf_test.go and
cmd/mechinterp/gpt2_test.go.

Run from anywhere:   /usr/bin/python3 testdata/hf_gpt2/gen.py
(Debian: apt-get install python3-torch; `transformers` is not needed and not
used.) It rewrites, next to itself:

  lmhead/   a GPT2LMHeadModel directory: tensor names with the "transformer."
            prefix, lm_head.weight stored (tied: equal to wte.weight), the
            attention buffers h.N.attn.bias (BOOL, [1,1,n_pos,n_pos]) and
            h.N.attn.masked_bias (F32 scalar) that older transformers
            versions save, config.json as transformers writes it, and the
            hand-made tokenizer of testdata/tokenizer (vocab.json,
            merges.txt; vocab_size 305 matches it).
  model/    a GPT2Model directory: names without a prefix, no lm_head, no
            buffers (newer transformers versions do not save them), n_inner
            set (48, not 4*n_embd), layer_norm_epsilon 1e-6,
            "gelu_pytorch_tanh", no tie_word_embeddings key.

and in each, expected.safetensors (F32):

  tokens [2,T]                       token ids as floats
  logits [2,T,V]                     ln_f(x) @ wte.T (+ no bias), as
                                     GPT2LMHeadModel computes them
  act.<hook>                         activations under TransformerLens names
  processed.<hf name>                every parameter after TransformerLens's
                                     fold_ln, center_writing_weights,
                                     center_unembed and fold_value_biases,
                                     in Hugging Face names and layouts
                                     (ln weights 1, biases 0, lm_head.weight
                                     untied, lm_head.bias = folded b_U)
  processed_logits [2,T,V]           logits of the processed weights

The forward pass below is written as transformers' modeling_gpt2 computes it
(Conv1D as addmm with weight [in,out], the causal mask read from the
checkpoint's h.N.attn.bias when present, masked scores set to the dtype's
minimum, gelu_new), in float64 from the float32 weights. The processing is
written from TransformerLens's HookedTransformer.process_weights on its own
weight layout (W_Q [head,d_model,d_head], W_O [head,d_head,d_model], ...),
then converted back; it shares nothing with the Go code.
"""

import json
import math
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from safetensors_writer import write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)
from gpt2_params import add_blocks  # noqa: E402  (testdata/gpt2_params.py)

HERE = os.path.dirname(os.path.abspath(__file__))
DT = torch.float64


def hf_config(arch, n_layer, n_head, n_embd, n_pos, vocab, n_inner, eps, act, tie):
    """config.json as transformers' GPT2Config.save_pretrained writes it."""
    c = {
        "_name_or_path": "random-gpt2",
        "activation_function": act,
        "architectures": [arch],
        "attn_pdrop": 0.1,
        "bos_token_id": vocab - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": vocab - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": eps,
        "model_type": "gpt2",
        "n_ctx": n_pos,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_inner": n_inner,
        "n_layer": n_layer,
        "n_positions": n_pos,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
        "torch_dtype": "float32",
        "transformers_version": "4.40.2",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if tie is not None:
        c["tie_word_embeddings"] = tie
    return c


def random_weights(gen, L, H, C, M, N, V):
    """GPT-2 parameters in Hugging Face names and layouts, rounded to
    float32. Larger than GPT-2's init so that every parameter matters."""
    w = {}

    def add(name, shape, std, mean=0.0):
        w[name] = (mean + std * torch.randn(*shape, generator=gen, dtype=DT)).float()

    add("wte.weight", (V, C), 0.3)
    add("wpe.weight", (N, C), 0.2)
    add_blocks(add, L, C, C, M)
    return w


# ---- the forward pass, as transformers' modeling_gpt2 computes it ----

def conv1d(x, weight, bias):
    """transformers.pytorch_utils.Conv1D.forward: addmm(bias, x, weight)."""
    size_out = x.size()[:-1] + (weight.size(-1),)
    return torch.addmm(bias, x.view(-1, x.size(-1)), weight).view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, w, b, eps, acts=None, prefix=None):
    y = torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)
    if acts is not None:
        # TransformerLens's hook_scale and hook_normalized (after gain and bias).
        xc = x - x.mean(-1, keepdim=True)
        acts[prefix + "hook_scale"] = (xc.pow(2).mean(-1, keepdim=True) + eps).sqrt()
        acts[prefix + "hook_normalized"] = y
    return y


def forward(w, cfg, tokens, buffers=None, lm_head="wte.weight", lm_bias=None):
    """GPT2LMHeadModel.forward (eager attention, no dropout) in float64.
    Returns logits and TransformerLens-named activations."""
    g = {k: v.to(DT) for k, v in w.items()}
    L, H, C, eps = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["layer_norm_epsilon"]
    D = C // H
    Bn, Tn = tokens.shape
    acts = {}
    inputs_embeds = g["wte.weight"][tokens]
    position_embeds = g["wpe.weight"][torch.arange(Tn)].unsqueeze(0)
    acts["hook_embed"] = inputs_embeds
    acts["hook_pos_embed"] = position_embeds.expand(Bn, Tn, C)
    hidden = inputs_embeds + position_embeds
    for l in range(L):
        p, blk = "h.%d." % l, "blocks.%d." % l
        acts[blk + "hook_resid_pre"] = hidden
        residual = hidden
        x = layer_norm(hidden, g[p + "ln_1.weight"], g[p + "ln_1.bias"], eps, acts, blk + "ln1.")
        qkv = conv1d(x, g[p + "attn.c_attn.weight"], g[p + "attn.c_attn.bias"])
        query, key, value = qkv.split(C, dim=2)

        def split_heads(t):
            return t.view(Bn, Tn, H, D).permute(0, 2, 1, 3)  # [B,H,T,D]

        query, key, value = split_heads(query), split_heads(key), split_heads(value)
        acts[blk + "attn.hook_q"] = query.permute(0, 2, 1, 3)
        acts[blk + "attn.hook_k"] = key.permute(0, 2, 1, 3)
        acts[blk + "attn.hook_v"] = value.permute(0, 2, 1, 3)
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full([], value.size(-1) ** 0.5, dtype=DT)
        if buffers is not None:
            causal_mask = buffers[p + "attn.bias"][:, :, :Tn, :Tn].bool()
        else:
            causal_mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool)).view(1, 1, Tn, Tn)
        mask_value = torch.finfo(attn_weights.dtype).min
        attn_weights = torch.where(causal_mask, attn_weights, torch.full([], mask_value, dtype=DT))
        acts[blk + "attn.hook_attn_scores"] = attn_weights.masked_fill(~causal_mask, -math.inf)
        attn_weights = torch.softmax(attn_weights, dim=-1)
        acts[blk + "attn.hook_pattern"] = attn_weights
        attn_output = torch.matmul(attn_weights, value)  # [B,H,T,D]
        acts[blk + "attn.hook_z"] = attn_output.permute(0, 2, 1, 3)
        attn_output = attn_output.permute(0, 2, 1, 3).contiguous().view(Bn, Tn, C)
        attn_output = conv1d(attn_output, g[p + "attn.c_proj.weight"], g[p + "attn.c_proj.bias"])
        acts[blk + "hook_attn_out"] = attn_output
        hidden = attn_output + residual
        acts[blk + "hook_resid_mid"] = hidden
        residual = hidden
        x = layer_norm(hidden, g[p + "ln_2.weight"], g[p + "ln_2.bias"], eps, acts, blk + "ln2.")
        pre = conv1d(x, g[p + "mlp.c_fc.weight"], g[p + "mlp.c_fc.bias"])
        acts[blk + "mlp.hook_pre"] = pre
        post = gelu_new(pre)
        acts[blk + "mlp.hook_post"] = post
        mlp_out = conv1d(post, g[p + "mlp.c_proj.weight"], g[p + "mlp.c_proj.bias"])
        acts[blk + "hook_mlp_out"] = mlp_out
        hidden = residual + mlp_out
        acts[blk + "hook_resid_post"] = hidden
    hidden = layer_norm(hidden, g["ln_f.weight"], g["ln_f.bias"], eps, acts, "ln_final.")
    logits = hidden @ g[lm_head].T  # lm_head: Linear(n_embd, vocab, bias=False)
    if lm_bias is not None:
        logits = logits + g[lm_bias]
    return logits, acts


# ---- TransformerLens's weight processing, on TransformerLens's layout ----

def to_tl(w, cfg):
    """transformer_lens.pretrained.weight_conversions.convert_gpt2_weights."""
    L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    D = C // H
    V = w["wte.weight"].shape[0]
    s = {"embed.W_E": w["wte.weight"].to(DT), "pos_embed.W_pos": w["wpe.weight"].to(DT)}
    for l in range(L):
        p, b = "h.%d." % l, "blocks.%d." % l
        s[b + "ln1.w"], s[b + "ln1.b"] = w[p + "ln_1.weight"].to(DT), w[p + "ln_1.bias"].to(DT)
        W = w[p + "attn.c_attn.weight"].to(DT)
        for name, part in zip("QKV", torch.tensor_split(W, 3, dim=1)):
            s[b + "attn.W_" + name] = part.reshape(C, H, D).permute(1, 0, 2)  # [H,C,D]
        bias = w[p + "attn.c_attn.bias"].to(DT)
        for name, part in zip("QKV", torch.tensor_split(bias, 3)):
            s[b + "attn.b_" + name] = part.reshape(H, D)
        s[b + "attn.W_O"] = w[p + "attn.c_proj.weight"].to(DT).reshape(H, D, C)
        s[b + "attn.b_O"] = w[p + "attn.c_proj.bias"].to(DT)
        s[b + "ln2.w"], s[b + "ln2.b"] = w[p + "ln_2.weight"].to(DT), w[p + "ln_2.bias"].to(DT)
        s[b + "mlp.W_in"] = w[p + "mlp.c_fc.weight"].to(DT)
        s[b + "mlp.b_in"] = w[p + "mlp.c_fc.bias"].to(DT)
        s[b + "mlp.W_out"] = w[p + "mlp.c_proj.weight"].to(DT)
        s[b + "mlp.b_out"] = w[p + "mlp.c_proj.bias"].to(DT)
    s["ln_final.w"], s["ln_final.b"] = w["ln_f.weight"].to(DT), w["ln_f.bias"].to(DT)
    s["unembed.W_U"] = w["wte.weight"].to(DT).T.clone()  # [C,V], untied copy
    s["unembed.b_U"] = torch.zeros(V, dtype=DT)
    return s


def fold_layer_norm(s, L):
    """HookedTransformer.fold_layer_norm(fold_biases=True, center_weights=True)."""
    for l in range(L):
        b = "blocks.%d." % l
        for n in "QKV":
            s[b + "attn.b_" + n] = s[b + "attn.b_" + n] + (s[b + "attn.W_" + n] * s[b + "ln1.b"][None, :, None]).sum(-2)
            s[b + "attn.W_" + n] = s[b + "attn.W_" + n] * s[b + "ln1.w"][None, :, None]
            s[b + "attn.W_" + n] = s[b + "attn.W_" + n] - s[b + "attn.W_" + n].mean(-2, keepdim=True)
        del s[b + "ln1.w"], s[b + "ln1.b"]
        s[b + "mlp.b_in"] = s[b + "mlp.b_in"] + (s[b + "mlp.W_in"] * s[b + "ln2.b"][:, None]).sum(-2)
        s[b + "mlp.W_in"] = s[b + "mlp.W_in"] * s[b + "ln2.w"][:, None]
        s[b + "mlp.W_in"] = s[b + "mlp.W_in"] - s[b + "mlp.W_in"].mean(0, keepdim=True)
        del s[b + "ln2.w"], s[b + "ln2.b"]
    s["unembed.b_U"] = s["unembed.b_U"] + (s["unembed.W_U"] * s["ln_final.b"][:, None]).sum(dim=-2)
    s["unembed.W_U"] = s["unembed.W_U"] * s["ln_final.w"][:, None]
    s["unembed.W_U"] = s["unembed.W_U"] - s["unembed.W_U"].mean(0, keepdim=True)
    del s["ln_final.w"], s["ln_final.b"]


def center_writing_weights(s, L):
    """HookedTransformer.center_writing_weights."""
    s["embed.W_E"] = s["embed.W_E"] - s["embed.W_E"].mean(-1, keepdim=True)
    s["pos_embed.W_pos"] = s["pos_embed.W_pos"] - s["pos_embed.W_pos"].mean(-1, keepdim=True)
    for l in range(L):
        b = "blocks.%d." % l
        s[b + "attn.W_O"] = s[b + "attn.W_O"] - s[b + "attn.W_O"].mean(-1, keepdim=True)
        s[b + "attn.b_O"] = s[b + "attn.b_O"] - s[b + "attn.b_O"].mean()
        s[b + "mlp.W_out"] = s[b + "mlp.W_out"] - s[b + "mlp.W_out"].mean(-1, keepdim=True)
        s[b + "mlp.b_out"] = s[b + "mlp.b_out"] - s[b + "mlp.b_out"].mean()


def center_unembed(s):
    """HookedTransformer.center_unembed."""
    s["unembed.W_U"] = s["unembed.W_U"] - s["unembed.W_U"].mean(-1, keepdim=True)
    s["unembed.b_U"] = s["unembed.b_U"] - s["unembed.b_U"].mean()


def fold_value_biases(s, L):
    """HookedTransformer.fold_value_biases."""
    for l in range(L):
        b = "blocks.%d." % l
        b_V, W_O = s[b + "attn.b_V"], s[b + "attn.W_O"]
        s[b + "attn.b_O"] = s[b + "attn.b_O"] + (b_V[:, :, None] * W_O).sum([0, 1])
        s[b + "attn.b_V"] = torch.zeros_like(b_V)


def from_tl(s, cfg):
    """Back to Hugging Face names; folded LayerNorms are gain 1, bias 0."""
    L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    D = C // H
    w = {"wte.weight": s["embed.W_E"], "wpe.weight": s["pos_embed.W_pos"]}
    for l in range(L):
        p, b = "h.%d." % l, "blocks.%d." % l
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = torch.ones(C, dtype=DT), torch.zeros(C, dtype=DT)
        w[p + "attn.c_attn.weight"] = torch.cat([s[b + "attn.W_" + n].permute(1, 0, 2).reshape(C, H * D) for n in "QKV"], dim=1)
        w[p + "attn.c_attn.bias"] = torch.cat([s[b + "attn.b_" + n].reshape(H * D) for n in "QKV"])
        w[p + "attn.c_proj.weight"] = s[b + "attn.W_O"].reshape(H * D, C)
        w[p + "attn.c_proj.bias"] = s[b + "attn.b_O"]
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = torch.ones(C, dtype=DT), torch.zeros(C, dtype=DT)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = s[b + "mlp.W_in"], s[b + "mlp.b_in"]
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = s[b + "mlp.W_out"], s[b + "mlp.b_out"]
    w["ln_f.weight"], w["ln_f.bias"] = torch.ones(C, dtype=DT), torch.zeros(C, dtype=DT)
    w["lm_head.weight"] = s["unembed.W_U"].T.contiguous()
    w["lm_head.bias"] = s["unembed.b_U"]
    return w


EXPECTED_ACTS = [
    "hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale",
    "blocks.0.ln1.hook_normalized", "blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v",
    "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z",
    "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.ln2.hook_normalized", "blocks.0.mlp.hook_pre",
    "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out", "blocks.1.attn.hook_pattern", "blocks.1.hook_resid_post",
    "ln_final.hook_scale", "ln_final.hook_normalized",
]


def build(name, seed, arch, L, H, C, M, N, V, eps, act, tie, prefix, lm_head, buffers, tokens, tokenizer):
    out = os.path.join(HERE, name)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    gen = torch.Generator().manual_seed(seed)
    cfg = hf_config(arch, L, H, C, N, V, M if M != 4 * C else None, eps, act, tie)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    w = random_weights(gen, L, H, C, M, N, V)

    stored = {prefix + k: v for k, v in w.items()}
    bufs = None
    if buffers:
        bufs = {}
        for l in range(L):
            mask = torch.tril(torch.ones(N, N, dtype=torch.bool)).view(1, 1, N, N)
            bufs["h.%d.attn.bias" % l] = mask
            stored[prefix + "h.%d.attn.bias" % l] = mask
            stored[prefix + "h.%d.attn.masked_bias" % l] = torch.tensor(-1e4, dtype=torch.float32)
    if lm_head:
        stored["lm_head.weight"] = w["wte.weight"].clone()  # tied: saved, equal
    write_safetensors(os.path.join(out, "model.safetensors"), stored, {"format": "pt"})
    if tokenizer:
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(HERE, "..", "tokenizer", f), os.path.join(out, f))

    tokens = torch.tensor(tokens)
    logits, acts = forward(w, cfg, tokens, bufs)
    expected = {"tokens": tokens.to(torch.float32), "logits": logits}
    for k in EXPECTED_ACTS:
        expected["act." + k] = acts[k]

    s = to_tl(w, cfg)
    fold_layer_norm(s, L)
    center_writing_weights(s, L)
    center_unembed(s)
    fold_value_biases(s, L)
    pw = from_tl(s, cfg)
    plogits, _ = forward(pw, cfg, tokens, None, "lm_head.weight", "lm_head.bias")
    # Centring the unembedding shifts each position's logits by a constant:
    # the log-probabilities are what processing keeps.
    lp, plp = torch.log_softmax(logits, -1), torch.log_softmax(plogits, -1)
    assert (lp - plp).abs().max() < 1e-9, (lp - plp).abs().max()
    for k, v in pw.items():
        expected["processed." + k] = v
    expected["processed_logits"] = plogits
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)
    print("%s: %d layers, d_model %d, vocab %d, tokens %s" % (name, L, C, V, list(tokens.shape)))


def main():
    gen = torch.Generator().manual_seed(7)
    # "Hello world, the cat is in the hat. Hello" in the hand-made tokenizer.
    text_ids = [268, 272, 11, 258, 290, 274, 300, 258, 292, 289, 13, 220, 268]
    rand_ids = torch.randint(0, 305, (len(text_ids),), generator=gen).tolist()
    build("lmhead", 1, "GPT2LMHeadModel", L=2, H=4, C=32, M=128, N=24, V=305, eps=1e-5, act="gelu_new",
          tie=None, prefix="transformer.", lm_head=True, buffers=True, tokens=[text_ids, rand_ids], tokenizer=True)
    rand2 = torch.randint(0, 50, (2, 9), generator=gen).tolist()
    build("model", 2, "GPT2Model", L=3, H=2, C=16, M=48, N=12, V=50, eps=1e-6, act="gelu_pytorch_tanh",
          tie=None, prefix="", lm_head=False, buffers=False, tokens=rand2, tokenizer=False)


if __name__ == "__main__":
    main()
