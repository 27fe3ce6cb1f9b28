#!/usr/bin/env python3
"""Reference byte-level BPE training for models/tokenizer's Trainer.

Run from the repository root:   python3 testdata/bpe_train/gen.py
It needs Python 3 with the `regex` module (the module GPT-2's own encoder
uses); nothing else. It reads corpus.txt (the first 24,000 bytes of the Go
distribution's doc/go_mem.html, BSD licence, and a short Go program) and
writes, next to itself, vocab.json and merges.txt of a 600-token vocabulary
learned by the rule Hugging Face's BpeTrainer applies, written here from
its definition and independently of the Go code:

  - split the text with GPT-2's pre-tokenizer pattern and count each chunk;
  - start from the 256 bytes (ids 0-255 in GPT-2's vocab.json order);
  - repeatedly count every adjacent symbol pair over the chunks (a chunk
    seen n times counts n times) and merge the most frequent pair in every
    chunk, left to right without overlaps; ties go to the pair whose left
    id is lowest, then the right; a merge whose text is already a token
    reuses its id; pairs seen fewer than 2 times are never merged;
  - stop when the vocabulary, with <|endoftext|> as its last id, has 600
    tokens.

This is the naive quadratic algorithm (recount everything after each
merge), so it checks the Go trainer's incremental bookkeeping too.
"""

import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from gpt2_bpe import PAT, bytes_to_unicode  # noqa: E402  (testdata/gpt2_bpe.py)
VOCAB = 600


def main():
    with open(os.path.join(HERE, "corpus.txt"), "rb") as f:
        text = f.read().decode("utf-8")
    enc = bytes_to_unicode()
    tokens = list(enc.values())  # id -> token; GPT-2's vocab.json lists the bytes in enc's order
    ids = {t: i for i, t in enumerate(tokens)}
    chunks = collections.Counter(PAT.findall(text))
    words = [([ids[enc[b]] for b in c.encode("utf-8")], n) for c, n in chunks.items()]
    merges = []
    while len(tokens) + 1 < VOCAB:
        counts = collections.Counter()
        for syms, n in words:
            for a, b in zip(syms, syms[1:]):
                counts[(a, b)] += n
        if not counts:
            break
        (a, b), c = max(counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
        if c < 2:
            break
        new = tokens[a] + tokens[b]
        if new not in ids:
            ids[new] = len(tokens)
            tokens.append(new)
        nid = ids[new]
        merges.append((tokens[a], tokens[b]))
        out = []
        for syms, n in words:
            s, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    s.append(nid)
                    i += 2
                else:
                    s.append(syms[i])
                    i += 1
            out.append((s, n))
        words = out
    tokens.append("<|endoftext|>")
    with open(os.path.join(HERE, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(HERE, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(a + " " + b + "\n")
    print(f"{len(tokens)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
