#!/usr/bin/env bash
# Times tensor.Gemm against this machine's FMA peak and against OpenBLAS, on
# 1 and 2 threads, and prints one side-by-side table (docs/PERFORMANCE.md,
# "Matrix multiply against the peak"): the peak (`mechinterp bench peak`),
# then for every square 512-2048 and every product of the model at shape C
# (B·T = 2048, d_model 512, d_mlp 2048, vocab 4096; forward A·B, weight
# gradients Aᵀ·B, input gradients A·Bᵀ) and of a Pythia-160M forward pass on
# 128 tokens (M = 128: the linear layers as models.linear calls them, X·W;
# the unembedding as models' blocks of W·Xᵀ and as one X·Wᵀ) mechinterp's
# GFLOP/s, its share of the peak on as many threads, and OpenBLAS's GFLOP/s
# (scripts/gemm_openblas.py).
# Each cell is the best of the rounds: another process taking a core slows
# some runs, never the best. On a shared machine run it under the bench lock:
#   flock /tmp/bench.lock nice -n -10 scripts/bench-gemm-peak.sh
# With a second argument, a commit, the same products are timed on that
# commit's build too, alternated with this tree's in every round, and the
# table gains its columns ("before"): an A/B of two builds in one run.
# Needs: apt-get install libopenblas0-pthread (and /usr/bin/python3).
# Usage: scripts/bench-gemm-peak.sh [rounds [base-commit]]   (default 2 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
rounds=${1:-2}
base=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=$dir/mechinterp
go build -o "$bin" ./cmd/mechinterp
if [ -n "$base" ]; then
  mkdir "$dir/base"
  git archive "$base" | tar -x -C "$dir/base"
  (cd "$dir/base" && go build -o "$dir/mechinterp-base" ./cmd/mechinterp)
fi

rows=(
  "512 512 512" "1024 1024 1024" "1536 1536 1536" "2048 2048 2048"
  "QKV|2048 1536 512" "MLP in|2048 2048 512" "MLP out|2048 512 2048" "unembed|2048 4096 512"
  "QKV weight grad|512 1536 2048 --trans-a" "MLP in weight grad|512 2048 2048 --trans-a"
  "MLP out weight grad|2048 512 2048 --trans-a" "unembed weight grad|512 4096 2048 --trans-a"
  "QKV input grad|2048 512 1536 --trans-b" "MLP in input grad|2048 512 2048 --trans-b"
  "MLP out input grad|2048 2048 512 --trans-b" "unembed input grad|2048 512 4096 --trans-b"
  "Pythia QKV, 128 tokens|128 2304 768" "Pythia MLP in, 128 tokens|128 3072 768"
  "Pythia out proj, 128 tokens|128 768 768" "Pythia MLP out, 128 tokens|128 768 3072"
  "Pythia unembed block W·Xᵀ|8192 128 768 --trans-b" "Pythia unembed X·Wᵀ|128 50304 768 --trans-b"
)
out=$dir/runs.jsonl
echo "load average before: $(cat /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
  "$bin" bench peak --threads 2 >>"$out"
  for row in "${rows[@]}"; do
    set -- ${row#*|}
    flags="--m $1 --n $2 --k $3 ${4:-}"
    for t in 1 2; do
      "$bin" bench gemm $flags --threads "$t" >>"$out"
      if [ -n "$base" ]; then
        # "base" names no kernel: the build runs its default and labels
        # its JSON line with it.
        MECHINTERP_GEMM=base "$dir/mechinterp-base" bench gemm $flags --threads "$t" >>"$out"
      fi
      /usr/bin/python3 scripts/gemm_openblas.py $flags --threads "$t" >>"$out"
    done
  done
done
echo "load average after: $(cat /proc/loadavg)" >&2
/usr/bin/python3 - "$out" "$base" "${rows[@]}" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
base = sys.argv[2]
peak = {1: max(r["gflops_1thread"] for r in runs if r["workload"] == "peak"),
        2: max(r["gflops"] for r in runs if r["workload"] == "peak")}
best = {}
for r in runs:
    if r["workload"] != "gemm":
        continue
    key = (r["m"], r["n"], r["k"], r["trans_a"], r["trans_b"], r["threads"], r["impl"])
    best[key] = max(best.get(key, 0), r["gflops"])
print(f"FMA peak (best of the rounds): {peak[1]:.0f} GFLOP/s on 1 thread, {peak[2]:.0f} on 2\n")
if base:
    print(f"before: the build of {base}, alternated with this tree's in each round\n")
cols = ["GFLOP/s", "share of peak", "OpenBLAS"] + (["before", "before's share"] if base else [])
print("| product | m×n×k | op | " + " | ".join(
    f"{t} {c}" if c == "GFLOP/s" else c for t in ("1 thread", "2 threads") for c in cols) + " |")
print("|---|---|---|" + "--:|" * (2 * len(cols)))
for row in sys.argv[3:]:
    name, _, dims = row.rpartition("|")
    f = dims.split()
    m, n, k = map(int, f[:3])
    ta, tb = "--trans-a" in f, "--trans-b" in f
    op = ("Aᵀ" if ta else "A") + "·" + ("Bᵀ" if tb else "B")
    cells = []
    for t in (1, 2):
        g = best[(m, n, k, ta, tb, t, "default")]
        o = best[(m, n, k, ta, tb, t, "openblas")]
        cells += [f"{g:.0f}", f"{g / peak[t]:.2f}", f"{o:.0f}"]
        if base:
            b = best[(m, n, k, ta, tb, t, "base")]
            cells += [f"{b:.0f}", f"{b / peak[t]:.2f}"]
    print(f"| {name or 'square'} | {m}×{n}×{k} | {op} | " + " | ".join(cells) + " |")
PY
