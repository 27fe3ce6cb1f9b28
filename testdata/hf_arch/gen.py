#!/usr/bin/python3
"""Golden checkpoints for models/hf_arch_test.go: tiny random GPT-NeoX and
Llama-family models in Hugging Face's exact directory layouts, with the
logits and every hook point of an independent PyTorch forward pass.

Run from anywhere:   /usr/bin/python3 testdata/hf_arch/gen.py
It needs torch only (not transformers).

With --written it instead reads written_neox and written_llama, checkpoints
mechinterp's writer made (go test ./models -run TestHFArchWritten
-update-written writes them and then runs this), as Hugging Face's classes
read them: config keys with transformers' defaults, tensors by name, none
missing or unexpected; and writes its forward pass beside each. The forward passes below are written
from transformers' modelling code (modeling_gpt_neox.py, modeling_llama.py,
modeling_qwen2.py at v4.40): GPT-NeoX's fused query_key_value laid out head
by head ([H, 3, D] rows), rotary positions on the first rotary_pct of each
head with rotate_half, inv_freq = 1/base^(arange(0, R, 2)/R) in float32,
scores / sqrt(d_head), use_parallel_residual; Llama's RMSNorm
(x * rsqrt(mean(x^2) + eps) * w), grouped-query attention by repeat_kv
(query head h reads key/value head h // (H/K)), SwiGLU down(silu(gate(x)) *
up(x)). The pass runs in float64 from the stored (possibly F16/BF16) weights.

Each case directory holds config.json and the weights as a downloaded
checkpoint would (with or without buffers, one file or shards, F32, F16 or
BF16), plus expected.safetensors (F32):

  tokens          [B,T] token ids, as floats
  logits          [B,T,V]
  act.<hook>      every hook point, named as TransformerLens names them
                  (hook_attn_scores with the masked entries set to 0)
"""

import json
import math
import os
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from safetensors_writer import read_safetensors, write_safetensors  # noqa: E402

DT = torch.float64
B, T = 2, 7

CASES = {
    # Pythia-style: parallel residual, rotary on a quarter of each head,
    # exact GELU, untied; the buffers a converted pytorch_model.bin carries.
    "neox_parallel": dict(
        arch="GPTNeoXForCausalLM", dtype=torch.float32, buffers=True, shards=1,
        config=dict(model_type="gpt_neox", vocab_size=50, hidden_size=32, intermediate_size=64,
                    num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=16,
                    rotary_pct=0.25, rotary_emb_base=10000, layer_norm_eps=1e-5,
                    use_parallel_residual=True, hidden_act="gelu", tie_word_embeddings=False)),
    # Sequential residual, half rotary, tanh GELU, stored F16, no buffers.
    "neox_sequential_f16": dict(
        arch="GPTNeoXForCausalLM", dtype=torch.float16, buffers=False, shards=1,
        config=dict(model_type="gpt_neox", vocab_size=40, hidden_size=24, intermediate_size=40,
                    num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=16,
                    rotary_pct=0.5, rotary_emb_base=500, layer_norm_eps=1e-5,
                    use_parallel_residual=False, hidden_act="gelu_new", tie_word_embeddings=False)),
    # Llama with grouped-query attention, sharded in two files with an
    # index, the rotary inv_freq buffers present.
    "llama_gqa_sharded": dict(
        arch="LlamaForCausalLM", dtype=torch.float32, buffers=True, shards=2,
        config=dict(model_type="llama", vocab_size=48, hidden_size=32, intermediate_size=48,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=32, rms_norm_eps=1e-5, rope_theta=500.0,
                    hidden_act="silu", tie_word_embeddings=False, rope_scaling=None)),
    # Qwen2: q/k/v biases, one key/value head, tied, stored BF16.
    "qwen2_tied_bf16": dict(
        arch="Qwen2ForCausalLM", dtype=torch.bfloat16, buffers=False, shards=1,
        config=dict(model_type="qwen2", vocab_size=45, hidden_size=32, intermediate_size=40,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                    max_position_embeddings=32, rms_norm_eps=1e-6, rope_theta=10000.0,
                    hidden_act="silu", tie_word_embeddings=True, use_sliding_window=False)),
    # Llama with every bias (attention_bias, mlp_bias) and head_dim not
    # hidden_size / heads.
    "llama_biases_headdim": dict(
        arch="LlamaForCausalLM", dtype=torch.float32, buffers=False, shards=1,
        config=dict(model_type="llama", vocab_size=30, hidden_size=24, intermediate_size=36,
                    num_hidden_layers=1, num_attention_heads=3, num_key_value_heads=3, head_dim=10,
                    max_position_embeddings=32, rms_norm_eps=1e-5, rope_theta=10000.0,
                    hidden_act="silu", tie_word_embeddings=False, attention_bias=True, mlp_bias=True)),
    # Llama 3.1's frequency-dependent rope_scaling: with rope_theta 500,
    # head_dim 16 and original_max_position_embeddings 64 the eight
    # frequencies fall in all three regimes (kept, interpolated, divided).
    "llama3_scaled": dict(
        arch="LlamaForCausalLM", dtype=torch.float32, buffers=False, shards=1,
        config=dict(model_type="llama", vocab_size=30, hidden_size=32, intermediate_size=40,
                    num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                    max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=500.0, hidden_act="silu",
                    tie_word_embeddings=False,
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                      original_max_position_embeddings=64))),
    # Linear scaling (position interpolation) on GPT-NeoX, older "type" key.
    "neox_linear_scaled": dict(
        arch="GPTNeoXForCausalLM", dtype=torch.float32, buffers=False, shards=1,
        config=dict(model_type="gpt_neox", vocab_size=30, hidden_size=16, intermediate_size=32,
                    num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=64,
                    rotary_pct=1.0, rotary_emb_base=100, layer_norm_eps=1e-5, use_parallel_residual=True,
                    hidden_act="gelu", tie_word_embeddings=False, rope_scaling=dict(type="linear", factor=4.0))),
}


def scaled_inv_freq(inv_freq, scaling):
    """transformers' _compute_linear_scaling_rope_parameters and
    _compute_llama3_parameters (modeling_rope_utils.py), in float32."""
    if not scaling:
        return inv_freq
    kind = scaling.get("rope_type", scaling.get("type"))
    factor = scaling["factor"]
    if kind == "linear":
        return inv_freq / factor
    assert kind == "llama3"
    low_freq_factor, high_freq_factor = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rnd(g, *shape, scale=0.3):
    return torch.randn(*shape, generator=g, dtype=torch.float32) * scale


def neox_weights(c, g):
    C, M, V, L, H = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"], c["num_attention_heads"]
    w = {"gpt_neox.embed_in.weight": rnd(g, V, C, scale=1.0)}
    for l in range(L):
        p = "gpt_neox.layers.%d." % l
        for ln in ("input_layernorm", "post_attention_layernorm"):
            w[p + ln + ".weight"] = 1 + rnd(g, C, scale=0.2)
            w[p + ln + ".bias"] = rnd(g, C, scale=0.2)
        w[p + "attention.query_key_value.weight"] = rnd(g, 3 * C, C)
        w[p + "attention.query_key_value.bias"] = rnd(g, 3 * C, scale=0.1)
        w[p + "attention.dense.weight"] = rnd(g, C, C)
        w[p + "attention.dense.bias"] = rnd(g, C, scale=0.1)
        w[p + "mlp.dense_h_to_4h.weight"] = rnd(g, M, C)
        w[p + "mlp.dense_h_to_4h.bias"] = rnd(g, M, scale=0.1)
        w[p + "mlp.dense_4h_to_h.weight"] = rnd(g, C, M)
        w[p + "mlp.dense_4h_to_h.bias"] = rnd(g, C, scale=0.1)
    w["gpt_neox.final_layer_norm.weight"] = 1 + rnd(g, C, scale=0.2)
    w["gpt_neox.final_layer_norm.bias"] = rnd(g, C, scale=0.2)
    w["embed_out.weight"] = rnd(g, V, C)
    return w


def llama_weights(c, g, qkv_bias, o_bias, mlp_bias, tied):
    C, M, V, L = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    H = c["num_attention_heads"]
    K = c.get("num_key_value_heads", H)
    D = c.get("head_dim", C // H)
    w = {"model.embed_tokens.weight": rnd(g, V, C, scale=1.0)}
    for l in range(L):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = 1 + rnd(g, C, scale=0.2)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(g, C, scale=0.2)
        for proj, n in (("q_proj", H * D), ("k_proj", K * D), ("v_proj", K * D)):
            w[p + "self_attn.%s.weight" % proj] = rnd(g, n, C)
            if qkv_bias:
                w[p + "self_attn.%s.bias" % proj] = rnd(g, n, scale=0.1)
        w[p + "self_attn.o_proj.weight"] = rnd(g, C, H * D)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = rnd(g, C, scale=0.1)
        for proj, shape in (("gate_proj", (M, C)), ("up_proj", (M, C)), ("down_proj", (C, M))):
            w[p + "mlp.%s.weight" % proj] = rnd(g, *shape)
            if mlp_bias:
                w[p + "mlp.%s.bias" % proj] = rnd(g, shape[0], scale=0.1)
    w["model.norm.weight"] = 1 + rnd(g, C, scale=0.2)
    if not tied:
        w["lm_head.weight"] = rnd(g, V, C)
    return w


def rotary_tables(R, base, scaling=None):
    inv_freq = scaled_inv_freq(1.0 / (base ** (torch.arange(0, R, 2, dtype=torch.int64).float() / R)), scaling)
    t = torch.arange(T, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(DT), emb.sin().to(DT), inv_freq


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x, cos, sin, R):
    # x [B,T,heads,D]; cos, sin [T,R]
    xr, xp = x[..., :R], x[..., R:]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.cat((xr * c + rotate_half(xr) * s, xp), dim=-1)


def layer_norm(x, w, b, eps, acts, name):
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    scale = (xc.pow(2).mean(-1, keepdim=True) + eps).sqrt()
    out = xc / scale * w + b
    acts[name + ".hook_scale"] = scale
    acts[name + ".hook_normalized"] = out
    return out


def rms_norm(x, w, eps, acts, name):
    scale = (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()
    xn = x / scale  # TransformerLens's RMSNorm fires hook_normalized before the gain
    acts[name + ".hook_scale"] = scale
    acts[name + ".hook_normalized"] = xn
    return xn * w


def attention(q, k, v, H, K, D, acts, p):
    # q [B,T,H,D], k, v [B,T,K,D] after rotation.
    rep = H // K
    kk = k.repeat_interleave(rep, dim=2)  # repeat_kv: head h reads h // rep
    vv = v.repeat_interleave(rep, dim=2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, kk) / math.sqrt(D)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    scores = scores.masked_fill(~mask, float("-inf"))
    pattern = torch.softmax(scores, dim=-1)
    z = torch.einsum("bhqk,bkhd->bqhd", pattern, vv)
    acts[p + "attn.hook_attn_scores"] = scores.masked_fill(~mask, 0)
    acts[p + "attn.hook_pattern"] = pattern
    acts[p + "attn.hook_z"] = z
    return z.reshape(B, T, H * D)


def act_fn(name, x):
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))
    assert name == "silu"
    return x * torch.sigmoid(x)


def neox_forward(c, w, tokens):
    C, H, L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    D = C // H
    R = int(D * c["rotary_pct"])
    cos, sin, _ = rotary_tables(R, c["rotary_emb_base"], c.get("rope_scaling"))
    eps = c["layer_norm_eps"]
    acts = {}
    x = w["gpt_neox.embed_in.weight"][tokens]
    acts["hook_embed"] = x
    for l in range(L):
        p, b = "gpt_neox.layers.%d." % l, "blocks.%d." % l
        acts[b + "hook_resid_pre"] = x
        h = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps, acts, b + "ln1")
        qkv = h @ w[p + "attention.query_key_value.weight"].T + w[p + "attention.query_key_value.bias"]
        qkv = qkv.view(B, T, H, 3 * D)
        q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
        acts[b + "attn.hook_q"], acts[b + "attn.hook_k"], acts[b + "attn.hook_v"] = q, k, v
        q, k = apply_rotary(q, cos, sin, R), apply_rotary(k, cos, sin, R)
        acts[b + "attn.hook_rot_q"], acts[b + "attn.hook_rot_k"] = q, k
        z = attention(q, k, v, H, H, D, acts, b)
        attn_out = z @ w[p + "attention.dense.weight"].T + w[p + "attention.dense.bias"]
        acts[b + "hook_attn_out"] = attn_out

        def mlp(inp):
            h2 = layer_norm(inp, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps, acts, b + "ln2")
            pre = h2 @ w[p + "mlp.dense_h_to_4h.weight"].T + w[p + "mlp.dense_h_to_4h.bias"]
            post = act_fn(c["hidden_act"], pre)
            acts[b + "mlp.hook_pre"], acts[b + "mlp.hook_post"] = pre, post
            out = post @ w[p + "mlp.dense_4h_to_h.weight"].T + w[p + "mlp.dense_4h_to_h.bias"]
            acts[b + "hook_mlp_out"] = out
            return out

        if c["use_parallel_residual"]:
            x = mlp(x) + attn_out + x
        else:
            mid = attn_out + x
            acts[b + "hook_resid_mid"] = mid
            x = mlp(mid) + mid
        acts[b + "hook_resid_post"] = x
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps, acts, "ln_final")
    return x @ w["embed_out.weight"].T, acts


def llama_forward(c, w, tokens):
    C, H, L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    K = c.get("num_key_value_heads", H)
    D = c.get("head_dim", C // H)
    cos, sin, _ = rotary_tables(D, c["rope_theta"], c.get("rope_scaling"))
    eps = c["rms_norm_eps"]
    acts = {}
    x = w["model.embed_tokens.weight"][tokens]
    acts["hook_embed"] = x

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        return y

    for l in range(L):
        p, b = "model.layers.%d." % l, "blocks.%d." % l
        acts[b + "hook_resid_pre"] = x
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps, acts, b + "ln1")
        q = lin(h, p + "self_attn.q_proj").view(B, T, H, D)
        k = lin(h, p + "self_attn.k_proj").view(B, T, K, D)
        v = lin(h, p + "self_attn.v_proj").view(B, T, K, D)
        acts[b + "attn.hook_q"], acts[b + "attn.hook_k"], acts[b + "attn.hook_v"] = q, k, v
        q, k = apply_rotary(q, cos, sin, D), apply_rotary(k, cos, sin, D)
        acts[b + "attn.hook_rot_q"], acts[b + "attn.hook_rot_k"] = q, k
        z = attention(q, k, v, H, K, D, acts, b)
        attn_out = lin(z, p + "self_attn.o_proj")
        acts[b + "hook_attn_out"] = attn_out
        mid = x + attn_out
        acts[b + "hook_resid_mid"] = mid
        h2 = rms_norm(mid, w[p + "post_attention_layernorm.weight"], eps, acts, b + "ln2")
        pre = lin(h2, p + "mlp.gate_proj")
        pre_lin = lin(h2, p + "mlp.up_proj")
        post = act_fn("silu", pre) * pre_lin
        acts[b + "mlp.hook_pre"], acts[b + "mlp.hook_pre_linear"], acts[b + "mlp.hook_post"] = pre, pre_lin, post
        mlp_out = lin(post, p + "mlp.down_proj")
        acts[b + "hook_mlp_out"] = mlp_out
        x = mid + mlp_out
        acts[b + "hook_resid_post"] = x
    x = rms_norm(x, w["model.norm.weight"], eps, acts, "ln_final")
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T, acts


def write_case(name, spec, seed):
    g = torch.Generator().manual_seed(seed)
    c = dict(spec["config"])
    c["architectures"] = [spec["arch"]]
    c["torch_dtype"] = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[spec["dtype"]]
    if spec["arch"] == "GPTNeoXForCausalLM":
        w = neox_weights(c, g)
    else:
        qwen = spec["arch"] == "Qwen2ForCausalLM"
        w = llama_weights(c, g, qkv_bias=qwen or c.get("attention_bias", False), o_bias=c.get("attention_bias", False),
                          mlp_bias=c.get("mlp_bias", False), tied=c["tie_word_embeddings"])
    # Round to the stored dtype; the reference runs on the rounded values.
    stored = {k: v.to(spec["dtype"]) for k, v in w.items()}
    w64 = {k: v.to(DT) for k, v in stored.items()}
    tokens = torch.randint(0, c["vocab_size"], (B, T), generator=g)
    if spec["arch"] == "GPTNeoXForCausalLM":
        logits, acts = neox_forward(c, w64, tokens)
    else:
        logits, acts = llama_forward(c, w64, tokens)

    files = dict(stored)
    if spec["buffers"]:
        L, ctx = c["num_hidden_layers"], c["max_position_embeddings"]
        for l in range(L):
            if spec["arch"] == "GPTNeoXForCausalLM":
                p = "gpt_neox.layers.%d.attention." % l
                files[p + "bias"] = torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)).view(1, 1, ctx, ctx)
                files[p + "masked_bias"] = torch.tensor(-1e9)
                D = c["hidden_size"] // c["num_attention_heads"]
                files[p + "rotary_emb.inv_freq"] = rotary_tables(int(D * c["rotary_pct"]), c["rotary_emb_base"])[2]
            else:
                D = c["hidden_size"] // c["num_attention_heads"]
                files["model.layers.%d.self_attn.rotary_emb.inv_freq" % l] = rotary_tables(D, c["rope_theta"])[2]

    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")
    if spec["shards"] == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), files, {"format": "pt"})
    else:
        names = sorted(files)
        n = spec["shards"]
        weight_map = {}
        for i in range(n):
            part = names[i * len(names) // n:(i + 1) * len(names) // n]
            fname = "model-%05d-of-%05d.safetensors" % (i + 1, n)
            write_safetensors(os.path.join(out, fname), {k: files[k] for k in part}, {"format": "pt"})
            for k in part:
                weight_map[k] = fname
        total = sum(t.numel() * t.element_size() for t in files.values())
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
            f.write("\n")
    exp = {"tokens": tokens.to(torch.float32), "logits": logits.to(torch.float32)}
    for k, v in acts.items():
        exp["act." + k] = v.to(torch.float32)
    write_safetensors(os.path.join(out, "expected.safetensors"), exp)
    print(name, "logits", tuple(logits.shape), len(acts), "hook points")


# ---- checkpoints written by mechinterp (models/hf_arch_written_test.go) ----

# transformers' defaults (configuration_gpt_neox.py, configuration_llama.py at
# v4.40) for the keys the forward passes read, as the config classes fill
# them in when config.json lacks a key.
HF_DEFAULTS = {
    "GPTNeoXForCausalLM": dict(hidden_act="gelu", rotary_pct=0.25, rotary_emb_base=10000, layer_norm_eps=1e-5,
                               use_parallel_residual=True, rope_scaling=None, attention_bias=True,
                               tie_word_embeddings=False),
    "LlamaForCausalLM": dict(hidden_act="silu", num_key_value_heads=None, rms_norm_eps=1e-6, rope_theta=10000.0,
                             rope_scaling=None, attention_bias=False, mlp_bias=False, head_dim=None,
                             tie_word_embeddings=False),
}


def hf_state_shapes(arch, c):
    """The parameters Hugging Face's class builds for config c, with their
    shapes: what load_state_dict(strict=True) requires of the file."""
    C, M, V, L, H = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"], c["num_attention_heads"]
    s = {}
    if arch == "GPTNeoXForCausalLM":
        s["gpt_neox.embed_in.weight"] = (V, C)
        for l in range(L):
            p = "gpt_neox.layers.%d." % l
            for ln in ("input_layernorm", "post_attention_layernorm"):
                s[p + ln + ".weight"] = s[p + ln + ".bias"] = (C,)
            s[p + "attention.query_key_value.weight"] = (3 * C, C)
            s[p + "attention.dense.weight"] = (C, C)
            if c["attention_bias"]:
                s[p + "attention.query_key_value.bias"] = (3 * C,)
                s[p + "attention.dense.bias"] = (C,)
            s[p + "mlp.dense_h_to_4h.weight"], s[p + "mlp.dense_h_to_4h.bias"] = (M, C), (M,)
            s[p + "mlp.dense_4h_to_h.weight"], s[p + "mlp.dense_4h_to_h.bias"] = (C, M), (C,)
        s["gpt_neox.final_layer_norm.weight"] = s["gpt_neox.final_layer_norm.bias"] = (C,)
        s["embed_out.weight"] = (V, C)
        return s
    K, D = c["num_key_value_heads"], c["head_dim"]
    s["model.embed_tokens.weight"] = (V, C)
    for l in range(L):
        p = "model.layers.%d." % l
        s[p + "input_layernorm.weight"] = s[p + "post_attention_layernorm.weight"] = (C,)
        for proj, o, i in (("q_proj", H * D, C), ("k_proj", K * D, C), ("v_proj", K * D, C), ("o_proj", C, H * D)):
            s[p + "self_attn.%s.weight" % proj] = (o, i)
            if c["attention_bias"]:
                s[p + "self_attn.%s.bias" % proj] = (o,)
        for proj, o, i in (("gate_proj", M, C), ("up_proj", M, C), ("down_proj", C, M)):
            s[p + "mlp.%s.weight" % proj] = (o, i)
            if c["mlp_bias"]:
                s[p + "mlp.%s.bias" % proj] = (o,)
    s["model.norm.weight"] = (C,)
    if not c["tie_word_embeddings"]:
        s["lm_head.weight"] = (V, C)
    return s


def check_written(name):
    """Reads a checkpoint mechinterp wrote as Hugging Face's class would (its
    config keys with transformers' defaults, its tensors by name, strictly)
    and writes this reference's forward pass beside it."""
    out = os.path.join(HERE, name)
    with open(os.path.join(out, "config.json")) as f:
        raw = json.load(f)
    arch = raw["architectures"][0]
    c = dict(HF_DEFAULTS[arch])
    c.update({k: v for k, v in raw.items() if not k.startswith("mechinterp_")})
    if arch == "LlamaForCausalLM":
        if c["num_key_value_heads"] is None:
            c["num_key_value_heads"] = c["num_attention_heads"]
        if c["head_dim"] is None:
            c["head_dim"] = c["hidden_size"] // c["num_attention_heads"]
    w = read_safetensors(os.path.join(out, "model.safetensors"))
    want = hf_state_shapes(arch, c)
    missing, unexpected = sorted(set(want) - set(w)), sorted(set(w) - set(want))
    if missing or unexpected:
        sys.exit("%s: missing %s, unexpected %s" % (name, missing, unexpected))
    for k, shape in want.items():
        if tuple(w[k].shape) != shape:
            sys.exit("%s: %s has shape %s, the class builds %s" % (name, k, tuple(w[k].shape), shape))
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    tokens = torch.randint(0, c["vocab_size"], (B, T), generator=g)
    if arch == "GPTNeoXForCausalLM":
        logits, acts = neox_forward(c, w, tokens)
    else:
        logits, acts = llama_forward(c, w, tokens)
    exp = {"tokens": tokens.to(torch.float32), "logits": logits.to(torch.float32)}
    for k, v in acts.items():
        exp["act." + k] = v.to(torch.float32)
    write_safetensors(os.path.join(out, "expected.safetensors"), exp)
    print(name, arch, "read by Hugging Face names:", len(w), "tensors; logits", tuple(logits.shape))


WRITTEN = ["written_neox", "written_llama"]


def main():
    torch.set_num_threads(1)
    if sys.argv[1:] == ["--written"]:
        # After `go test ./models -run TestHFArchWritten -update-written` wrote them.
        for name in WRITTEN:
            check_written(name)
        return
    for name, spec in sorted(CASES.items()):
        write_case(name, spec, zlib.crc32(name.encode()))  # a seed per case, whatever the others


if __name__ == "__main__":
    main()
