#!/usr/bin/python3
"""Peak memory of loading a safetensors GPT-2 checkpoint in PyTorch, to set
beside models.Load (BenchmarkLoadGPT2Small in models/hf_load_test.go).

    MECHINTERP_GPT2_SMALL=/tmp/gpt2-small go test ./models -run '^$' -bench LoadGPT2Small -benchtime 1x
    /usr/bin/python3 testdata/hf_gpt2/load_rss.py /tmp/gpt2-small/model.safetensors

It does what transformers' from_pretrained does by default, without
transformers: allocate the model's parameters (nn.Parameter, float32), map
the file (safetensors' safe_open maps it too), and copy each tensor in
(load_state_dict); buffers are skipped. Prints one JSON line: the peak
resident memory of the process, the resident memory after `import torch`
(the baseline), the weights' size, and the load time.
"""

import json
import mmap
import resource
import sys
import time
import warnings

import torch

# frombuffer on a read-only map warns; the views are only read.
warnings.filterwarnings("ignore", message="The given buffer is not writable")

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    path = sys.argv[1]
    base = rss_mib()
    start = time.time()
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    n = int.from_bytes(mm[:8], "little")
    header = json.loads(mm[8:8 + n])
    header.pop("__metadata__", None)
    params = {}
    for name, e in header.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        params[name] = torch.nn.Parameter(torch.empty(e["shape"], dtype=torch.float32), requires_grad=False)
    with torch.no_grad():
        for name, p in params.items():
            e = header[name]
            b, end = e["data_offsets"]
            src = torch.frombuffer(mm, dtype=DTYPES[e["dtype"]], count=p.numel(), offset=8 + n + b)
            p.copy_(src.view(p.shape))
    elapsed = time.time() - start
    weights = sum(p.numel() * 4 for p in params.values()) / 2 ** 20
    print(json.dumps({"peak_rss_mib": round(rss_mib(), 1), "rss_after_import_mib": round(base, 1),
                      "weights_mib": round(weights, 1), "load_s": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
