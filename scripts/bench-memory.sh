#!/usr/bin/env bash
# Peak resident memory of mechinterp's and PyTorch's train and cache workloads
# on shapes A, B and C (docs/PERFORMANCE.md), each in a fresh process measured
# by GNU time, and of `import torch` alone (PyTorch's baseline).
# Needs: apt-get install python3-torch libopenblas0-pthread time.
# Usage: scripts/bench-memory.sh
# TORCH_CACHE_NAMES gives PyTorch's cache rows a hook filter other than every
# point (as in scripts/bench-vs-torch.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
ref=${TORCH_REF:-scripts/torch_ref.py}   # TORCH_REF: another reference with the same flags
bin=$(mktemp -d)/mechinterp
go build -o "$bin" ./cmd/mechinterp
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

A="--layers 2 --heads 4 --d-model 128 --ctx 128 --batch 32 --vocab 512 --attn-only"
B="--layers 2 --heads 8 --d-model 256 --ctx 128 --batch 16 --vocab 2048"
C="--layers 2 --heads 8 --d-model 512 --ctx 256 --batch 8 --vocab 4096"
echo "| workload | mechinterp MiB | PyTorch MiB | PyTorch above its import baseline |"
echo "|---|---|---|---|"
base=$(rss /usr/bin/python3 -c "import torch")
for shape in A B C; do
  for w in train cache; do
    m=$(rss "$bin" bench $w ${!shape} --steps 3)
    extra=()
    if [[ $w == cache && -n ${TORCH_CACHE_NAMES:-} ]]; then
      extra=(--names "$TORCH_CACHE_NAMES")
    fi
    t=$(rss /usr/bin/python3 "$ref" $w ${!shape} --steps 3 "${extra[@]}")
    echo "| $w $shape | $((m / 1024)) | $((t / 1024)) | $(((t - base) / 1024)) |"
  done
done
echo
echo "import torch alone: $((base / 1024)) MiB"
