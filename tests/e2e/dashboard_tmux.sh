#!/usr/bin/env bash
# End-to-end: the dashboard in tmux on a scratch workspace. Launch a tiny experiment from the
# launch form, open the run, see charts and samples arrive, pause and resume it from the keyboard,
# quit the dashboard and check the trainer kept going, reopen where it was (the run view: session
# restore), stop it; `--fresh` starts in the runs table.
# Usage: tests/e2e/dashboard_tmux.sh PATH/TO/atelier
set -euo pipefail
bin=$(realpath "${1:?usage: dashboard_tmux.sh PATH/TO/atelier}")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/tmux_lib.sh"
workspace e2e
cp "$here/tiny.toml" "$work/experiments/tiny.toml"
cd "$work"
start
wait_for "No runs in runs yet" 10
tmux -L $sock send-keys -t e2e n
wait_for "overrides (Tab to move" 10
wait_for "tiny" 5
tmux -L $sock send-keys -t e2e Enter
wait_for "launched" 15
wait_for " running " 30
echo "ok: launched from the form, the run shows as running"
tmux -L $sock send-keys -t e2e Enter
wait_for "samples: step" 30
wait_for "generator" 5
wait_for "train.log" 5
echo "ok: run view with charts, gallery and console"
tmux -L $sock send-keys -t e2e p
wait_for " paused " 15
echo "ok: paused from the keyboard"
tmux -L $sock send-keys -t e2e p
wait_for " running " 15
echo "ok: resumed"
tmux -L $sock send-keys -t e2e q
sleep 1
tmux -L $sock has-session -t e2e 2>/dev/null && { echo "FAIL: dashboard did not quit"; exit 1; }
run=$(ls -d runs/*-tiny)
step1=$(python3 -c "import json;print(json.load(open('$run/status.json'))['step'])")
sleep 3
step2=$(python3 -c "import json;print(json.load(open('$run/status.json'))['step'])")
[ "$step2" -gt "$step1" ] || { echo "FAIL: training stopped with the dashboard ($step1 -> $step2)"; exit 1; }
echo "ok: training continues after the dashboard quit ($step1 -> $step2)"
start
wait_for " running " 10
wait_for "samples: step" 10
echo "ok: reopened where it was: the run view (session restore)"
tmux -L $sock send-keys -t e2e s
wait_for "Stop " 5
tmux -L $sock send-keys -t e2e y
wait_for " stopped " 30
echo "ok: stopped with confirmation"
tmux -L $sock send-keys -t e2e q
sleep 1
start --fresh
wait_for "Enter  open" 10
echo "ok: --fresh starts in the runs table"
tmux -L $sock send-keys -t e2e q
echo "dashboard e2e: all passed"
