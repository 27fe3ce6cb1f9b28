#!/usr/bin/python3
"""Golden head-detector scores for probes/golden_test.go, computed in PyTorch.

Run from anywhere:   /usr/bin/python3 testdata/probes/gen.py
(Debian: apt-get install python3-torch). It rewrites detector.safetensors
beside itself, holding

  tokens    [N, T]          token ids (small, so that tokens repeat), as float32
  patterns  [N, T, T]       attention patterns [query, key]: rows 0..N-3 causal
                            (softmax of random scores under the causal mask),
                            the last two dense (every key gets attention), so
                            that entries above the diagonal count in sum(A)
  expected  [N, 3, 4]       per prompt, kind (previous_token, duplicate_token,
                            induction) and options (none, exclude_bos,
                            exclude_current_token, both)
  batch     [3, 4]          the mean over the N prompts of expected, each
                            prompt scored with the options (what
                            probes.ScorePatterns computes for a batch)

The detection patterns and the "mul" score are TransformerLens's
head_detector (get_*_detection_pattern and
process_head_attention_pattern_score with error_measure="mul"), written out
here in torch so that no TransformerLens install is needed. The output is
deterministic (seeded torch.Generator, CPU).
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from safetensors_writer import write_safetensors  # noqa: E402  (testdata/safetensors_writer.py)

HERE = os.path.dirname(os.path.abspath(__file__))
N, T, VOCAB = 8, 12, 5


def previous_token_pattern(tokens):
    d = torch.zeros(tokens.shape[-1], tokens.shape[-1])
    d[1:, :-1] = torch.eye(tokens.shape[-1] - 1)
    return torch.tril(d)


def duplicate_token_pattern(tokens):
    tp = tokens.repeat(tokens.shape[-1], 1)
    eq = (tp == tp.T).int()
    eq.fill_diagonal_(0)
    return torch.tril(eq.float())


def induction_pattern(tokens):
    dup = duplicate_token_pattern(tokens)
    shifted = torch.roll(dup, shifts=1, dims=1)
    zeros = torch.zeros(dup.shape[0], 1)
    return torch.tril(torch.cat((zeros, shifted[:, 1:]), dim=1))


KINDS = [previous_token_pattern, duplicate_token_pattern, induction_pattern]
OPTIONS = [(False, False), (True, False), (False, True), (True, True)]


def mul_score(pattern, detection, exclude_bos, exclude_current_token):
    a = pattern.clone()
    if exclude_bos:
        a[:, 0] = 0
    if exclude_current_token:
        a.fill_diagonal_(0)
    return ((a * detection).sum() / a.sum()).item()


def main():
    g = torch.Generator().manual_seed(4)
    tokens = torch.randint(0, VOCAB, (N, T), generator=g)
    scores = torch.randn(N, T, T, generator=g) * 2
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    patterns = torch.empty(N, T, T)
    for n in range(N):
        s = scores[n]
        if n < N - 2:
            s = s.masked_fill(~causal, float("-inf"))
        patterns[n] = torch.softmax(s, dim=-1)
    expected = torch.zeros(N, len(KINDS), len(OPTIONS), dtype=torch.float64)
    for n in range(N):
        for k, kind in enumerate(KINDS):
            d = kind(tokens[n])
            for o, (bos, cur) in enumerate(OPTIONS):
                expected[n, k, o] = mul_score(patterns[n], d, bos, cur)
    write_safetensors(os.path.join(HERE, "detector.safetensors"), {
        "tokens": tokens.float(),
        "patterns": patterns,
        "expected": expected,
        "batch": expected.mean(0),
    })


if __name__ == "__main__":
    main()
