#!/usr/bin/env bash
# The SAE table of docs/PERFORMANCE.md in one run: `mechinterp bench sae` and
# scripts/torch_ref.py's sae workload, alternating, at d_in 512, d_sae 4096,
# batch 4096: ReLU + L1 (--l1 5) fresh (half the latents fire) and started
# with a trained SAE's sparse code (--l0 64: 64 of 4096 fire), and TopK
# (k 32), one JSON line per run with the load average before it. Needs
# python3-torch (/usr/bin/python3).
# Usage: scripts/bench-sae.sh [rounds]   (on a shared machine, under
#   flock /tmp/bench.lock nice -n -10)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
rounds=${1:-2}
bin=$(mktemp -d)/mechinterp
go build -o "$bin" ./cmd/mechinterp
S="--d-in 512 --d-sae 4096 --batch 4096 --steps 5 --threads 2"
for r in $(seq "$rounds"); do
  for k in "" "--l0 64" "--k 32"; do
    echo "{\"round\":$r,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"impl\":\"mechinterp\",\"result\":$("$bin" bench sae $S $k)}"
    echo "{\"round\":$r,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"impl\":\"torch\",\"result\":$(/usr/bin/python3 scripts/torch_ref.py sae $S $k)}"
  done
done
