"""The safetensors format written by hand (no safetensors package), shared by
the testdata/*/gen.py generators:

  u64 little-endian header length, a JSON header {name: {dtype, shape,
  data_offsets}} (with "__metadata__" when given), padded with spaces to a
  multiple of 8 bytes, then the raw little-endian data, tensors in name
  order with no gaps.

F32, F16, BF16 and BOOL tensors are stored as they are; any other dtype is
converted to F32. read_safetensors reads such a file back (F32 only, as
mechinterp writes). The generators import it with testdata/ on sys.path.
"""

import json
import struct

import torch

DTYPES = {torch.float32: ("F32", "f"), torch.bool: ("BOOL", "?"),
          torch.float16: ("F16", "h"), torch.bfloat16: ("BF16", "h")}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach()
        if t.dtype not in DTYPES:
            t = t.to(torch.float32)
        t = t.contiguous()
        code, fmt = DTYPES[t.dtype]
        if fmt == "h":  # 16-bit floats: their bits, as int16
            t = t.view(torch.int16)
        data = struct.pack("<%d%s" % (t.numel(), fmt), *t.flatten().tolist())
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path, dtype=torch.float64):
    """The tensors of a safetensors file (F32 only, as mechinterp writes), as dtype."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", "%s: dtype %s" % (name, h["dtype"])
        a, b = h["data_offsets"]
        vals = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
        out[name] = torch.tensor(vals, dtype=dtype).reshape(h["shape"])
    return out
