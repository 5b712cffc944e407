#!/usr/bin/env bash
# The preference-weighted discriminator on the quickstart (experimental; docs/benchmarks.md).
#
# For each seed: a baseline quickstart run, and a run with steer.favored_fraction=0.15 steered by
# a scripted rater that, at every sample step but the first and the last, favours the probe
# output with the highest texture gain in that step's samples/scores.jsonl (sent through
# `atelier control --run R favor ...`). Then one line per run: the final step's scores from
# `atelier eval --run` (mean over the probes), the rater's picks and the mean share of favoured
# slots in the critic's real batch (metrics: favored_share).
#
# usage: bench/favor_experiment.sh [SEED...]          (default: 42)
# env:   ATELIER (binary, default target/release/atelier), RUNS (default runs-favor),
#        ARMS (default "base favored"), SPEC (default experiments/quickstart.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ATELIER:-target/release/atelier}
RUNS=${RUNS:-runs-favor}
ARMS=${ARMS:-base favored}
SPEC=${SPEC:-experiments/quickstart.toml}
SEEDS=("$@")
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(42)
mkdir -p "$RUNS"

newest() { ls -td "$RUNS"/*-"$1" 2>/dev/null | head -1; }

# Favour the best-texture probe of each new sample step while the run lives.
rater() {
  local run=$1 pid=$2 done_steps=" 0 "
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    [ -f "$run/samples/scores.jsonl" ] || continue
    # Steps with a complete set of probe scores, and each one's best-texture probe.
    local picks
    picks=$(jq -rs --argjson n "$(jq -rs '[.[] | select(.kind=="output" and .step==0)] | length' "$run/samples/index.jsonl")" \
      'group_by(.step)[] | select(length == $n) | max_by(.texture_gain) | "\(.step) \(.set) \(.probe) \(.texture_gain)"' \
      "$run/samples/scores.jsonl" 2>/dev/null || true)
    while read -r step set probe tg; do
      [ -n "$step" ] || continue
      case "$done_steps" in *" $step "*) continue ;; esac
      done_steps="$done_steps$step "
      local total
      total=$(jq -r .total_steps "$run/status.json")
      [ "$step" -lt "$total" ] || continue
      local img
      img=$(printf 'samples/step_%07d/%s_%02d_output.png' "$step" "$set" "$probe")
      "$BIN" control --run "$run" favor "$img" >/dev/null
      echo "  step $step: favour $img (texture gain $tg)" >&2
    done <<<"$picks"
  done
}

for seed in "${SEEDS[@]}"; do
  for arm in $ARMS; do
    name="$arm-s$seed"
    echo "== $name" >&2
    if [ "$arm" = base ]; then
      "$BIN" train "$SPEC" --runs-dir "$RUNS" --name "$name" --set "train.seed=$seed" --quiet
    else
      "$BIN" train "$SPEC" --runs-dir "$RUNS" --name "$name" --set "train.seed=$seed" \
        --set steer.favored_fraction=0.15 --quiet &
      pid=$!
      until run=$(newest "$name") && [ -n "$run" ] && [ -f "$run/samples/index.jsonl" ]; do sleep 0.2; done
      rater "$run" "$pid"
      wait "$pid"
    fi
  done
done

# One line per run: final-step means over the probes.
printf '%-34s %6s %11s %13s %9s %7s\n' RUN SSIM STYLE_GAIN TEXTURE_GAIN FAVOURED SHARE
for run in "$RUNS"/*/; do
  run=${run%/}
  "$BIN" eval --run "$run" --json | jq -rs --arg run "$(basename "$run")" \
    --arg fav "$(jq -s '[.[] | select(.kind=="ack" and (.message | startswith("favoured")))] | length' "$run/events.jsonl")" \
    --arg share "$(jq -s '[.[] | .favored_share // empty] | if length > 0 then (add / length) else 0 end' "$run/metrics.jsonl")" \
    '(map(.step) | max) as $last | map(select(.step == $last)) as $f
     | "\($run) \($f | map(.ssim) | add / length) \($f | map(.style_gain) | add / length) \($f | map(.texture_gain) | add / length) \($fav) \($share)"' |
    awk '{printf "%-34s %6.3f %+11.3f %+13.3f %9d %7.3f\n", $1, $2, $3, $4, $5, $6}'
done
