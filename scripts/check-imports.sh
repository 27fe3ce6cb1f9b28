#!/usr/bin/env bash
# Checks the import rules of docs/ARCHITECTURE.md on the packages of the
# module (test files excluded):
#   - a package imports only packages of its own row or of rows above it in
#     the table below (the table of docs/ARCHITECTURE.md, top to bottom);
#   - viz and its subpackages import no analysis package (probes, circuits,
#     sae, superposition, lab, study/...): they render data they are handed;
#   - a package missing from the table is reported, so the table is kept
#     up to date when packages are added.
# Prints every violation and exits 1 if there is any.
# Usage: scripts/check-imports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)

# Rows, top to bottom; a row may name several packages, and a trailing /...
# also matches the subpackages.
rows=(
  "internal/config internal/atomicfile internal/seed internal/jsonx internal/parallel internal/memory internal/stats"
  "tensor/..."
  "models/..."
  "hooks"
  "train"
  "data/..."
  "run"
  "internal/testmodel internal/gemmtest"
  "probes/..."
  "circuits/..."
  "sae/..."
  "superposition/..."
  "lab/..."
  "internal/bench"
  "study/..."
  "viz/..."
  "report/..."
  "cmd/..."
)
analysis="probes circuits sae superposition lab study"

rank() { # rank PKG: the row of a module-relative package path, or -1
  local p=$1 i r
  for i in "${!rows[@]}"; do
    for r in ${rows[$i]}; do
      if [[ $r == */... ]]; then
        local base=${r%/...}
        [[ $p == "$base" || $p == "$base"/* ]] && { echo "$i"; return; }
      elif [[ $p == "$r" ]]; then
        echo "$i"; return
      fi
    done
  done
  echo -1
}

bad=0
while read -r pkg imports; do
  p=${pkg#"$mod"/}
  r=$(rank "$p")
  if ((r < 0)); then
    echo "$p: not in the table of docs/ARCHITECTURE.md (scripts/check-imports.sh rows)"
    bad=1
    continue
  fi
  for imp in $imports; do
    [[ $imp == "$mod"/* ]] || continue
    q=${imp#"$mod"/}
    s=$(rank "$q")
    if ((s > r)); then
      echo "$p imports $q, which is below it"
      bad=1
    fi
    if [[ $p == viz || $p == viz/* ]]; then
      for a in $analysis; do
        if [[ $q == "$a" || $q == "$a"/* ]]; then
          echo "$p imports the analysis package $q (viz renders what it is handed)"
          bad=1
        fi
      done
    fi
  done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)

if ((bad)); then
  exit 1
fi
echo "imports follow docs/ARCHITECTURE.md"
