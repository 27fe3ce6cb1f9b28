#!/usr/bin/env bash
# Forward pass with a full cache of the Pythia-160M- and Llama-shaped models
# (hooks/arch_bench_test.go's BenchmarkCacheArch) against
# scripts/torch_arch_ref.py, alternating, one line per run with the load
# average (docs/PERFORMANCE.md, "GPT-NeoX and Llama shapes").
# Usage: flock /tmp/bench.lock nice -n -20 scripts/bench-arch.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/openblas.sh
rounds=${1:-2}
bin=$(mktemp -d)/hooks.test
go test -c -o "$bin" ./hooks
for r in $(seq "$rounds"); do
  for s in pythia160m llama; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    go=$("$bin" -test.run '^$' -test.bench "CacheArch/$s" -test.benchtime 10x | grep -o '[0-9.]* tokens/s' | cut -d' ' -f1)
    pt=$(/usr/bin/python3 scripts/torch_arch_ref.py "$s" | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tokens_per_s"])')
    echo "round $r load $load $s mechinterp $go PyTorch $pt ratio $(python3 -c "print('%.2f' % ($go/$pt))")"
  done
done
