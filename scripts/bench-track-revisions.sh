#!/usr/bin/env bash
# Times `mechinterp track --revisions` on Pythia-160M-shaped revisions with
# random weights (docs/models.md, "Tracking Pythia's revisions"): writes N
# revisions (default 2) with scripts/pythia_revisions.go into a temporary
# directory, probes them one at a time (--workers 1), and prints the load
# average before and after and the seconds per revision.
# Usage: scripts/bench-track-revisions.sh [N]
# Run the timing under the benchmark lock: flock /tmp/bench.lock nice -n -10 scripts/bench-track-revisions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/mechinterp" ./cmd/mechinterp
go run scripts/pythia_revisions.go "$dir/revs" "$n"
echo "load before: $(cat /proc/loadavg)"
start=$(date +%s.%N)
"$dir/mechinterp" track --revisions "$dir/revs" --workers 1 --quiet -o "$dir/track.html" >/dev/null
end=$(date +%s.%N)
echo "load after: $(cat /proc/loadavg)"
python3 -c "import sys; t=$end-$start; print('%d revisions in %.1f s: %.1f s (%.2f min) per revision' % ($n, t, t/$n, t/$n/60))"
