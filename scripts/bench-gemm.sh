#!/usr/bin/env bash
# Times float32 matrix multiplies in mechinterp's kernels (default packed
# kernel, its portable Go micro-kernel, gonum) and in OpenBLAS, side by side,
# alternating, and prints a table of GFLOP/s and ratios (docs/PERFORMANCE.md).
# Needs: apt-get install libopenblas0-pthread (and /usr/bin/python3).
# Usage: scripts/bench-gemm.sh [rounds]   (the median of the rounds is shown)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
rounds=${1:-3}
bin=$(mktemp -d)/mechinterp
go build -o "$bin" ./cmd/mechinterp

# Square sizes in every transpose form the model uses, then the model's own
# shapes at shape C (B·T = 2048, d_model 512, d_mlp 2048, vocab 4096, T 256,
# d_head 64): QKV, MLP in/out and unembed forward; weight gradients (Aᵀ·B);
# input gradients (A·Bᵀ); attention scores per head (Q·Kᵀ).
rows=()
for s in 64 128 256 512 1024; do
  rows+=("--m $s --n $s --k $s" "--m $s --n $s --k $s --trans-b" "--m $s --n $s --k $s --trans-a")
done
rows+=(
  "--m 2048 --n 1536 --k 512" "--m 2048 --n 2048 --k 512" "--m 2048 --n 512 --k 2048"
  "--m 2048 --n 4096 --k 512" "--m 512 --n 1536 --k 2048 --trans-a"
  "--m 2048 --n 512 --k 4096 --trans-b" "--m 256 --n 256 --k 64 --trans-b"
)
out=$(mktemp)
for r in $(seq "$rounds"); do
  for row in "${rows[@]}"; do
    "$bin" bench gemm $row >>"$out"
    MECHINTERP_GEMM=generic "$bin" bench gemm $row >>"$out"
    MECHINTERP_GEMM=gonum "$bin" bench gemm $row --steps 3 >>"$out"
    /usr/bin/python3 scripts/gemm_openblas.py $row >>"$out"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["m"], r["n"], r["k"], r["trans_a"], r["trans_b"])
    rows.setdefault(key, {}).setdefault(r["impl"], []).append(r["gflops"])
print("| m×n×k | op | mechinterp GFLOP/s | OpenBLAS | / OpenBLAS | generic Go / OpenBLAS | / gonum |")
print("|---|---|---|---|---|---|---|")
for (m, n, k, ta, tb), g in rows.items():
    med = {i: statistics.median(v) for i, v in g.items()}
    op = ("Aᵀ" if ta else "A") + "·" + ("Bᵀ" if tb else "B")
    d, o = med["default"], med["openblas"]
    print(f"| {m}×{n}×{k} | {op} | {d:.0f} | {o:.0f} | {d/o:.2f} | {med['generic']/o:.2f} | {d/med['gonum']:.1f} |")
PY
