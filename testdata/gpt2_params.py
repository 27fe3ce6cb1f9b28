"""GPT-2's transformer-block parameters in Hugging Face's names and layouts,
with the initial scales the random golden checkpoints use (larger than
GPT-2's own init, so that every parameter matters), shared by
testdata/golden/gen.py and testdata/hf_gpt2/gen.py. The generators import
it with testdata/ on sys.path.
"""


def add_blocks(add, n_layers, d_model, d_attn, d_mlp, ln=True):
    """Calls add(name, shape, std[, mean]) for every parameter of n_layers
    blocks and the final LayerNorm, in checkpoint order: h.L.ln_1,
    h.L.attn.c_attn ([d_model, 3*d_attn], Conv1D [in, out], Q | K | V),
    h.L.attn.c_proj ([d_attn, d_model]), then, unless d_mlp is 0, h.L.ln_2 and
    h.L.mlp.c_fc and c_proj; LayerNorms only when ln (weights drawn around 1)."""
    C, A, M = d_model, d_attn, d_mlp
    for l in range(n_layers):
        p = "h.%d." % l
        if ln:
            add(p + "ln_1.weight", (C,), 0.2, 1.0)
            add(p + "ln_1.bias", (C,), 0.1)
        add(p + "attn.c_attn.weight", (C, 3 * A), 0.2)
        add(p + "attn.c_attn.bias", (3 * A,), 0.1)
        add(p + "attn.c_proj.weight", (A, C), 0.2)
        add(p + "attn.c_proj.bias", (C,), 0.1)
        if M:
            if ln:
                add(p + "ln_2.weight", (C,), 0.2, 1.0)
                add(p + "ln_2.bias", (C,), 0.1)
            add(p + "mlp.c_fc.weight", (C, M), 0.2)
            add(p + "mlp.c_fc.bias", (M,), 0.3)
            add(p + "mlp.c_proj.weight", (M, C), 0.15)
            add(p + "mlp.c_proj.bias", (C,), 0.1)
    if ln:
        add("ln_f.weight", (C,), 0.2, 1.0)
        add("ln_f.bias", (C,), 0.1)
