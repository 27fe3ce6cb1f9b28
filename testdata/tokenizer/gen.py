#!/usr/bin/env python3
"""Hand-made GPT-2 style tokenizer files and reference encodings for
models/tokenizer's tests.

Run from the repository root:   python3 testdata/tokenizer/gen.py
It needs Python 3 with the `regex` module (pip install regex), the module
GPT-2's own encoder uses; nothing else. It writes, next to itself:

  vocab.json      the 256 byte symbols in GPT-2's order (so ids 0-255 are
                  GPT-2's), one token per merge below, then <|endoftext|>
  merges.txt      "#version: 0.2" and the merges, lowest rank first
  expected.json   for each text of TEXTS: the chunks GPT-2's pre-tokenizer
                  pattern gives (regex module, the pattern verbatim) and the
                  ids that openai/gpt-2 encoder.py's bpe() gives with this
                  vocabulary (the algorithm copied from encoder.py into
                  testdata/gpt2_bpe.py), independently of the Go code.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from gpt2_bpe import PAT, bpe, bytes_to_unicode  # noqa: E402  (testdata/gpt2_bpe.py)

# Merges in rank order. They make whole words of a few common strings and
# include the cases the Go tests name: rank beats position ("h e" before
# "e r"), repeated pairs ("l l"), multi-space and newline runs ("Ġ Ġ",
# "Ċ Ċ"), contractions ("' s", "' t"), digits, and non-ASCII bytes (é is
# "Ã ©"; every 4-byte emoji starts with "ð Ł").
MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"),
    ("o", "n"), ("Ġ", "w"), ("r", "e"), ("l", "l"), ("H", "e"), ("He", "ll"),
    ("Hell", "o"), ("o", "r"), ("Ġw", "or"), ("Ġwor", "l"), ("Ġworl", "d"),
    ("i", "s"), ("Ġ", "is"), ("'", "s"), ("'", "t"), ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"),
    ("Ċ", "Ċ"), ("1", "2"), ("12", "3"), ("Ġ", "1"), ("a", "n"), ("an", "d"),
    ("Ġ", "and"), ("in", "g"), ("e", "d"), ("Ġ", "c"), ("a", "t"), ("Ġc", "at"),
    ("Ã", "©"), ("Ġ", "h"), ("Ġh", "e"), ("Ġhe", "ll"), ("Ġhell", "o"),
    ("ð", "Ł"), ("Ġ", "ð"), ("t", "i"), ("ti", "on"), ("Ġ", "in"),
    ("Ġin", "d"), ("u", "c"), ("uc", "tion"),
]

TEXTS = [
    "Hello world",
    " the",
    "Hello world, the cat is in the hat. Hello!",
    "hello hello Hello HELLO",
    "I'm sure they'll've done it, didn't we? We'd",
    "It's ITS 'S 'tis ''s don''t '",
    " 's x 're y 've z 'll w 'd v 'm u 't",
    "a  b   c    d",
    "trailing spaces   ",
    "   leading spaces",
    "tabs\t\tand\nnewlines\n\n\nend\n",
    " \n x",
    "line one\r\nline two\r\n",
    "    \t  \n",
    "1234567 12 3.14 123123 ½ Ⅻ ٣٤ 2nd",
    "$100,000!!! (a) [b] {c} ... -- ---",
    "user@example.com http://x.y/z?q=1&r=2",
    "@#$%^&*",
    "emoji 👋🏽 family 👨‍👩‍👧 flags 🇫🇷 👀👀",
    "mixed 漢字かなカナ한국어 Ελληνικά русский العربية हिन्दी",
    "naïve café e\u0301 ﬁ ligature",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
    "x<|endoftext|>y",
    "\u00a0nbsp\u3000ideographic\u2003em",
    "\x00\x01 control\x7f",
    "\x1c\x1d\x1e\x1f separators",
    "zero\u200bwidth",
    "induction heads induction",
    "",
]


def main():
    byte_encoder = bytes_to_unicode()
    vocab = {}
    for t in byte_encoder.values():
        vocab[t] = len(vocab)
    for a, b in MERGES:
        assert a in vocab and b in vocab, (a, b)
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    ranks = {m: i for i, m in enumerate(MERGES)}

    with open(os.path.join(HERE, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(HERE, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in MERGES:
            f.write("%s %s\n" % (a, b))

    cases = []
    for text in TEXTS:
        chunks = PAT.findall(text)
        assert "".join(chunks) == text
        ids = []
        for chunk in chunks:
            sym = "".join(byte_encoder[b] for b in chunk.encode("utf-8"))
            ids.extend(vocab[t] for t in bpe(sym, ranks))
        cases.append({"text": text, "chunks": chunks, "ids": ids})
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab_size": len(vocab), "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("vocab %d tokens, %d merges, %d cases" % (len(vocab), len(MERGES), len(cases)))


if __name__ == "__main__":
    main()
