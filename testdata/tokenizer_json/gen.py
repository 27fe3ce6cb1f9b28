#!/usr/bin/env python3
"""tokenizer.json files built for models/tokenizer's tests, and the ids an
independent implementation gives for tricky texts.

Run from anywhere:   python3 testdata/tokenizer_json/gen.py
It needs Python 3 with the `regex` module (the engine the tokenizers'
patterns are written for); not the tokenizers library. It writes, next to
itself, one directory per style, each with tokenizer.json and
expected.json ({"texts": [...], "encode": [[ids]...], "encode_special":
[[ids]...]}):

  neox     byte-level BPE as GPT-NeoX/Pythia: NFC, ByteLevel pre-tokenizer
           with GPT-2's pattern, merges as "a b" strings, <|endoftext|> and
           <|padding|> added at ids 0 and 1, no BOS
  qwen2    byte-level BPE as Qwen2: NFC, Split by Qwen2's pattern (digits
           one at a time) then ByteLevel, merges as ["a", "b"] pairs, no BOS
  llama3   as Qwen2 with Llama 3's pattern (up to three digits),
           ignore_merges, and a TemplateProcessing that prepends
           <|begin_of_text|>
  llama2   SentencePiece-style BPE as Llama 2: Prepend("▁") and Replace(" ",
           "▁") normalizers, no pre-tokenizer, byte_fallback with <0x00> ..
           <0xFF>, <unk> <s> </s> at 0-2, TemplateProcessing "<s> $A"

The merges are learnt here by plain BPE training on TRAIN (most frequent
pair first). The reference encoder follows the tokenizers library's
documented behaviour: added tokens are split out first (leftmost, longest),
each remaining piece is normalized and pre-tokenized, each chunk is merged
by rank (openai/gpt-2 encoder.py's bpe loop), characters outside a
SentencePiece vocabulary become their UTF-8 bytes' <0xNN> tokens.
"""

import collections
import json
import os
import sys
import unicodedata

import regex as re

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from gpt2_bpe import PAT, bpe, bytes_to_unicode  # noqa: E402  (testdata/gpt2_bpe.py)

GPT2_PAT = PAT.pattern
QWEN2_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

TRAIN = """The quick brown fox jumps over the lazy dog. It's what they'll say, isn't it?
We've seen 12345 numbers and 2024-12-05 dates; she'd said "hello, world!" twice.
Induction heads copy tokens: [A][B] ... [A] -> [B]. def f(x): return x * 2
    indented code\n\tand tabs\r\nwindows lines. Café naïve résumé 東京 日本語
the the the and and of of to to in in is is that that for for on on with with
"""

TEXTS = [
    "Hello world",
    "  leading spaces and trailing   ",
    "It's I'LL DON'T we've they'd she'S",
    "numbers 1234567 and 3.14159, 2024",
    "line one\nline two\r\n\r\nline three\n\n   indented",
    "tabs\tand\t\tmore\t",
    "Café naïve résumé",
    "Cafe\u0301 (combining accent, NFC makes it é)",
    "東京で日本語を話す",
    "emoji 🦊🐕 and ✓ marks",
    "special text <|endoftext|> inside <s> and </s> here",
    "<|endoftext|>starts with a special token",
    "...!?;:--->>> ((nested)) {braces}",
    "non\u00a0breaking space",
    "x",
    " ",
    "",
    "def f(x):\n    return x * 2\n",
    "The the THE tHe",
]


BYTE_ENC = bytes_to_unicode()


def train_merges(words, n_merges):
    """Plain BPE training: words are tuples of symbols with counts."""
    vocab = collections.Counter(words)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in vocab.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        new = collections.Counter()
        for w, c in vocab.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += c
        vocab = new
    return merges


def byte_level(s):
    return "".join(BYTE_ENC[b] for b in s.encode("utf-8"))


class Ref:
    """The reference encoder for one style."""

    def __init__(self, style, vocab, merges, added, pattern=None, bos=None, ignore_merges=False):
        self.style, self.vocab, self.added = style, vocab, added
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.pattern = re.compile(pattern) if pattern else None
        self.bos, self.ignore_merges = bos, ignore_merges

    def chunk_ids(self, chunk):
        if self.style == "sp":
            syms = []
            for ch in chunk:
                if ch in self.vocab:
                    syms.append(ch)
                else:
                    syms.extend("<0x%02X>" % b for b in ch.encode("utf-8"))
            return [self.vocab[t] for t in bpe(syms, self.ranks)]
        bl = byte_level(chunk)
        if self.ignore_merges and bl in self.vocab:
            return [self.vocab[bl]]
        return [self.vocab[t] for t in bpe(list(bl), self.ranks)]

    def encode(self, s):
        if self.style == "sp":  # no NFC normalizer in Llama 2's file
            if not s:
                return []
            s = "▁" + s.replace(" ", "▁")
            return self.chunk_ids(s)
        ids = []
        s = unicodedata.normalize("NFC", s)
        for chunk in self.pattern.findall(s):
            ids.extend(self.chunk_ids(chunk))
        return ids

    def encode_special(self, s):
        ids = [self.vocab[self.bos]] if self.bos else []
        while s:
            best = None
            for content in sorted(self.added, key=len, reverse=True):
                i = s.find(content)
                if i >= 0 and (best is None or i < best[0]):
                    best = (i, content)
            if best is None:
                ids.extend(self.encode(s))
                break
            i, content = best
            ids.extend(self.encode(s[:i]))
            ids.append(self.added[content])
            s = s[i + len(content):]
        return ids


def build(style_name):
    texts = TRAIN.split("\n")
    if style_name == "llama2":
        words = collections.Counter()
        for line in texts:
            for w in ("▁" + line.replace(" ", "▁")).split("▁"):
                if w:
                    words[tuple("▁" + w)] += 1
        merges = train_merges(words, 120)
        vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
        for b in range(256):
            vocab["<0x%02X>" % b] = len(vocab)
        for ch in sorted({c for w in words for c in w}):
            vocab.setdefault(ch, len(vocab))
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        added = {"<unk>": 0, "<s>": 1, "</s>": 2}
        tj = {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for c, i in added.items()],
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                               {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            "pre_tokenizer": None,
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
                {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "vocab": vocab,
                      "merges": ["%s %s" % m for m in merges]},
        }
        return tj, Ref("sp", vocab, merges, added, bos="<s>")

    pattern = {"neox": GPT2_PAT, "qwen2": QWEN2_PAT, "llama3": LLAMA3_PAT}[style_name]
    pat = re.compile(pattern)
    words = collections.Counter()
    for line in TRAIN.splitlines(keepends=True):
        for chunk in pat.findall(unicodedata.normalize("NFC", line)):
            words[tuple(byte_level(chunk))] += 1
    merges = train_merges(words, 150)
    if style_name == "neox":
        added = {"<|endoftext|>": 0, "<|padding|>": 1}
    elif style_name == "qwen2":
        added = {"<|endoftext|>": None, "<|im_start|>": None, "<|im_end|>": None}
    else:
        added = {"<|begin_of_text|>": None, "<|end_of_text|>": None}
    vocab = {}
    for c, i in added.items():
        if i is not None:
            vocab[c] = i
    for b in range(256):
        vocab[BYTE_ENC[b]] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    for c in added:
        if added[c] is None:
            added[c] = len(vocab)
            vocab[c] = added[c]
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for c, i in added.items()],
        "normalizer": {"type": "NFC"},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab},
    }
    bos = None
    if style_name == "neox":
        tj["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        tj["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        tj["model"]["merges"] = ["%s %s" % m for m in merges]
    else:
        tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
        tj["model"]["merges"] = [list(m) for m in merges]
        if style_name == "qwen2":
            tj["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        else:
            tj["model"]["ignore_merges"] = True
            bos = "<|begin_of_text|>"
            tj["post_processor"] = {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [], "special_tokens": {bos: {"id": bos, "ids": [added[bos]], "tokens": [bos]}}}]}
    return tj, Ref("bl", vocab, merges, added, pattern=pattern, bos=bos, ignore_merges=style_name == "llama3")


def main():
    for name in ("neox", "qwen2", "llama3", "llama2"):
        tj, ref = build(name)
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False, indent=1)
            f.write("\n")
        exp = {"texts": TEXTS, "encode": [ref.encode(t) for t in TEXTS],
               "encode_special": [ref.encode_special(t) for t in TEXTS]}
        with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(exp, f, ensure_ascii=False)
            f.write("\n")
        print(name, len(tj["model"]["vocab"]), "tokens", len(tj["model"]["merges"]), "merges")


if __name__ == "__main__":
    main()
