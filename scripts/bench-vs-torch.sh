#!/usr/bin/env bash
# Runs mechinterp's benchmarks and their PyTorch counterparts (scripts/torch_ref.py)
# side by side on the same shapes, alternating, and prints one JSON line per
# run. Needs: apt-get install python3-torch libopenblas0-pthread.
# Usage: scripts/bench-vs-torch.sh [rounds] | scripts/bench-ratios.py
#   (docs/PERFORMANCE.md explains the rows; bench-ratios.py prints its tables)
# The cache rows keep every hook point on both sides (--names '*'). Set
# TORCH_CACHE_NAMES to give PyTorch's side another filter, e.g. the 10 points
# per block that docs/PERFORMANCE.md's recorded cache rows were measured with.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
rounds=${1:-3}
ref=${TORCH_REF:-scripts/torch_ref.py}   # TORCH_REF: another reference with the same flags
bin=$(mktemp -d)/mechinterp
go build -o "$bin" ./cmd/mechinterp

A="--layers 2 --heads 4 --d-model 128 --ctx 128 --batch 32 --vocab 512 --attn-only"
B="--layers 2 --heads 8 --d-model 256 --ctx 128 --batch 16 --vocab 2048"
C="--layers 2 --heads 8 --d-model 512 --ctx 256 --batch 8 --vocab 4096"
rows=(
  "train $A --steps 10" "cache $A --steps 10"
  "train $B --steps 10" "cache $B --steps 10"
  "train $C --steps 5"  "cache $C --steps 5"
  "sample $B --prompt 16 --new 112 --batch 8 --steps 2"
  "toy --instances 16 --features 20 --hidden 5 --batch 1024 --steps 200"
  "toy --instances 20 --features 200 --hidden 20 --batch 1024 --steps 20"
)
for r in $(seq "$rounds"); do
  for row in "${rows[@]}"; do
    echo "{\"round\":$r,\"impl\":\"mechinterp\",\"result\":$("$bin" bench $row)}"
    extra=()
    if [[ $row == cache* && -n ${TORCH_CACHE_NAMES:-} ]]; then
      extra=(--names "$TORCH_CACHE_NAMES")
    fi
    echo "{\"round\":$r,\"impl\":\"torch\",\"result\":$(/usr/bin/python3 "$ref" $row "${extra[@]}")}"
  done
done
