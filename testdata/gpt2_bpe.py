"""GPT-2's byte-level BPE as openai/gpt-2 src/encoder.py defines it, shared by
the tokenizer generators (testdata/tokenizer, bpe_train, tokenizer_json): the
pre-tokenizer pattern, the map from bytes to printable characters and the
merge loop, each independent of the Go code. The generators import it with
testdata/ on sys.path. It needs the `regex` module, the one GPT-2's encoder
uses (pip install regex).
"""

import regex as re

# GPT-2's pre-tokenizer pattern, verbatim from openai/gpt-2 src/encoder.py.
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """encoder.py's map from the 256 bytes to printable characters, in the
    order of GPT-2's vocab.json (ids 0-255)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def bpe(symbols, ranks):
    """encoder.py's bpe loop on a list of symbols: merges the adjacent pair of
    lowest rank in ranks ({(a, b): rank}) until none is ranked; returns the
    symbols."""
    word = list(symbols)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new.extend(word[i:])
                break
            new.extend(word[i:j])
            i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = new
    return word
