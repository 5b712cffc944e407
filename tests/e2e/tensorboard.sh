#!/usr/bin/env bash
# End-to-end: the TensorBoard mirror read by TensorBoard itself. Trains the tiny spec as a
# study member (hparams), kills a second run with SIGKILL mid-training and resumes it, then
# checks with TensorBoard's EventAccumulator that the scalars equal metrics.jsonl row for row
# and that there is one image per probe per sample step, loads a copy truncated at a random
# byte, and fetches the scalar tags from a `tensorboard --logdir` server over HTTP (loopback).
# Usage: tests/e2e/tensorboard.sh PATH/TO/atelier
set -euo pipefail
bin=$(realpath "${1:?usage: tensorboard.sh PATH/TO/atelier}")
here=$(cd "$(dirname "$0")" && pwd)
python3 -c 'import tensorboard' 2>/dev/null || pip install --quiet tensorboard
work=$(mktemp -d)
tb_pid=""
pid=""
cleanup() {
  for p in $tb_pid $pid; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
sed -e 's/^steps = .*/steps = 40/' "$here/tiny.toml" > member.toml
cat >> member.toml <<'TOML'
[search]
"loss.style_weight" = { min = 1e4, max = 1e7, log = true }
"optim.lr" = { min = 1e-4, max = 1e-2, log = true }
[study]
name = "tbstudy"
TOML
"$bin" train member.toml --quiet --name member
sed -e 's/^checkpoint_every = .*/checkpoint_every = 20/' "$here/tiny.toml" > long.toml
"$bin" train long.toml --quiet --name killed &
pid=$!
disown "$pid"
# Past the checkpoint at step 40 and a few rows more, then SIGKILL.
for _ in $(seq 600); do
  last=$(tail -qn1 runs/*-killed/metrics.jsonl 2>/dev/null | sed -n 's/^{"step":\([0-9]*\),.*/\1/p' || true)
  [ "${last:-0}" -ge 55 ] && break
  sleep 0.1
done
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
killed=$(ls -d runs/*-killed)
echo "killed at step $last; resuming from checkpoint $(cat "$killed/checkpoints/latest")"
"$bin" train --resume "$killed" --steps 80 --quiet
[ "$(ls "$killed"/tb | wc -l)" -eq 2 ] || { echo "FAIL: expected two event files"; ls "$killed/tb"; exit 1; }
python3 "$here/tensorboard_check.py" runs
echo "ok: TensorBoard's reader agrees with metrics.jsonl and samples/index.jsonl"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tensorboard --logdir runs --host 127.0.0.1 --port "$port" > tb.log 2>&1 &
tb_pid=$!
disown "$tb_pid"
ok=""
for _ in $(seq 120); do
  if curl -sf "http://127.0.0.1:$port/data/plugin/scalars/tags" > tags.json 2>/dev/null \
    && python3 - tags.json <<'PY'
import json, sys
tags = json.load(open(sys.argv[1]))
runs = {r.split("/")[0].split("-", 2)[-1]: t for r, t in tags.items()}
assert {"member", "killed"} <= set(runs), tags.keys()
for name, t in runs.items():
    assert {"g_adv", "d_total", "lr_g", "images_per_s"} <= set(t), (name, sorted(t))
print("ok: tensorboard --logdir serves the scalar tags of", sorted(tags))
PY
  then ok=1; break; fi
  sleep 0.5
done
[ -n "$ok" ] || { echo "FAIL: no scalar tags over HTTP"; cat tags.json tb.log 2>/dev/null; exit 1; }
