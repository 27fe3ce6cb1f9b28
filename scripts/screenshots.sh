#!/usr/bin/env bash
# screenshots.sh OUT: write every page mechinterp makes into OUT/pages and a full-page PNG of
# each (1200 CSS pixels wide, headless Chromium through viz/browsertest) into OUT/shots; then
# look at every PNG as a reader would. Models are trained once and reused by a rerun into
# the same OUT (the demo, the tuned lens, the neurons demo, the preference models, the study
# runs); every page is rewritten by the current build. SKIP_SLOW=1 leaves out the repeated study.
# The PNGs kept in docs/images are crops of these, optimised (scripts/optimise_png.py).
set -euo pipefail
OUT=$(realpath -m "${1:?usage: scripts/screenshots.sh OUT}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT/pages" "$OUT/shots"
M="$OUT/mechinterp"
(cd "$ROOT" && go build -o "$M" ./cmd/mechinterp)
cd "$OUT/pages"

# The demo: index, heads, track, circuits, attention, patch.
# A finished demo is reused, its pages rewritten by this build (the commands the demo prints).
CK=demo/checkpoints/step-001500
if [ -f demo/index.html ]; then
  $M heads --model $CK -o demo/reports/heads.html >/dev/null
  $M track demo --quiet -o demo/reports/track.html >/dev/null
  $M circuits --model $CK --top 4 -o demo/reports/circuits.html >/dev/null
  $M attention --model $CK --tokens 0,88,45,109,64,55,114,80,73,78,60,70,94,88,45,109,64,55,114,80,73,78,60,70,94 -o demo/reports/attention.html >/dev/null
  $M patch --model $CK --tokens-mode --clean 0,88,45,109,64,55,114,80,73,78,60,70,94,111,66,30,104,88,45,109,64,55,114,80,73,78,60 \
    --corrupted 0,88,45,109,64,55,114,80,73,78,60,34,94,111,66,30,104,88,45,109,64,55,114,80,73,78,60 --answer 70 --wrong 34 --top 4 -o demo/reports/patch.html >/dev/null
else
  $M demo --out demo --quiet
fi
T=0,88,45,109,64,55,114,80,73,78,60,70,94,111,66,30,104,88,45,109,64,55,114,80,73,78,60
mkdir -p misc
$M eap --model $CK --task induction --method eap -o misc/eap.html >/dev/null
$M eap --model $CK --task induction --method eap-ig --effects -o misc/eap-ig.html >/dev/null
$M lens --model $CK --tokens $T -o misc/lens.html >/dev/null
[ -d misc/tuned ] || $M lens train --model $CK --run demo --out misc/tuned >/dev/null
$M lens --model $CK --tuned misc/tuned --tokens $T --answer 70 -o misc/lens-tuned.html >/dev/null

# Superposition: every experiment, on --quick settings (a few seconds each; the page's layout
# and scales are the same); SP_FULL=1 runs the paper-scale configs instead (about 15 minutes on
# 2 cores; their numbers are in docs/superposition.md).
Q=--quick
[ -z "${SP_FULL:-}" ] || Q=
for e in relu pentagon phase sae linear correlated dimensionality neurons absolute; do
  $M superposition $e $Q --out sp/$e >/dev/null
done

# Neurons and SAE features of a 1-layer model on Go text (docs/neurons.md), shrunk: the pages
# are the same kind (feature and neuron dashboards, neurons-vs-features, an index).
# NEURONS=DIR reuses a finished `mechinterp demo neurons` directory instead.
if [ -n "${NEURONS:-}" ]; then
  mkdir -p nrn && cp -r "$NEURONS/report" nrn/
else
  $M demo neurons --out nrn --steps 200 --sae-steps 200 --contexts 64 --quiet >/dev/null
fi

# The alignment lab (docs/alignment-lab.md): a preference model, a policy, best-of-n, OOD,
# reward attribution.
mkdir -p lab
[ -d lab/pm/model ] || $M prefs train --out lab/pm >/dev/null
[ -d lab/policy/model ] || $M prefs train --objective imitation --out lab/policy >/dev/null
$M bestofn --policy lab/policy/model --pm lab/pm/model -o lab/pm/bestofn.html >/dev/null
$M ood --model lab/pm/model -o lab/pm/ood.html >/dev/null
$M prefs attribute --pm lab/pm/model -o lab/pm/attribute.html >/dev/null
$M prefs report lab/pm >/dev/null
cat > study-tiny.yaml <<'YAML'
sizes: [8, 16]
comparisons: 1000
steps: 100
finetune: [100, 300]
finetune_steps: 60
finetune_size: 8
pretrain_comparisons: 1000
pretrain_steps: 100
eval_comparisons: 300
YAML
$M prefs study --config study-tiny.yaml --out lab/study >/dev/null

# A small repeated-data study: 7 runs of 600 steps (about 2 minutes), enough to check the page.
if [ -z "${SKIP_SLOW:-}" ]; then
  cat > repeated-tiny.yaml <<'YAML'
name: repeated data, tiny check
train:
  steps: 600
  checkpoints: {log_per_doubling: 1, every: 100}
eval: {held_out: 64, subset_sample: 64, passages: 16, prompts: 16}
grids:
  - {fractions: [0], sizes: [s, m], archs: [attn2], seeds: [1]}
  - {fractions: [0.5], epochs: [4, 64, 1024], sizes: [m], archs: [attn2], seeds: [1]}
  - {fractions: [0.5], epochs: [64], sizes: [m], archs: [attn1], seeds: [1]}
YAML
  if [ -f rep/report.html ]; then $M repeated report rep -o rep/report.html >/dev/null
  else $M repeated --config repeated-tiny.yaml --out rep >/dev/null; fi
fi

# Every page written above, then serve's page on the demo run.
cd "$ROOT"
MECHINTERP_SCREENSHOT_DIR="$OUT/pages" MECHINTERP_ARTIFACTS="$OUT/shots" \
  go test -count=1 -run TestScreenshotPages ./viz/browsertest
PORT=18431
"$M" serve --run "$OUT/pages/demo" --addr 127.0.0.1:$PORT >"$OUT/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q serving "$OUT/serve.log" && break; sleep 0.2; done
MECHINTERP_SCREENSHOT_URLS="http://127.0.0.1:$PORT/" MECHINTERP_SCREENSHOT_READY='window.mechinterp && mechinterp.attention && mechinterp.attention.ready' \
  MECHINTERP_ARTIFACTS="$OUT/shots/serve" go test -count=1 -run TestScreenshotPages ./viz/browsertest
kill $SERVE 2>/dev/null || true

# serve's dashboards (--sae): the list, the SAE's features, the MLP's neurons.
NCK=$(ls -d "$OUT"/pages/nrn/run/checkpoints/step-* | tail -1)
"$M" serve --model "$NCK" --sae "$OUT/pages/nrn/sae" --contexts 64 --addr 127.0.0.1:$PORT >"$OUT/serve-sae.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do grep -q serving "$OUT/serve-sae.log" && break; sleep 0.2; done
D=http://127.0.0.1:$PORT/dashboards
MECHINTERP_SCREENSHOT_URLS="$D/ $D/features $D/neurons/0" \
  MECHINTERP_SCREENSHOT_READY='document.readyState === "complete" && (!document.getElementById("mi-dash-detail") || document.querySelector("#mi-dash-detail h3") !== null)' \
  MECHINTERP_ARTIFACTS="$OUT/shots/serve-sae" go test -count=1 -run TestScreenshotPages ./viz/browsertest
echo "screenshots in $OUT/shots"
