#!/usr/bin/env bash
# End-to-end: a study in the dashboard, in tmux. Launch a tiny study spec from the form (four
# candidates start), judge rounds in the best-of-4 grid (each retires the worst and launches a
# proposal), quit, reopen, and find the judgements and the score column still there.
# Usage: tests/e2e/study_tmux.sh PATH/TO/atelier
set -euo pipefail
bin=$(realpath "${1:?usage: study_tmux.sh PATH/TO/atelier}")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/tmux_lib.sh"
workspace study
# The tiny e2e spec as a 3-parameter study: 12 steps per candidate.
sed -e 's/^steps = .*/steps = 12/' -e 's/^sample_every = .*/sample_every = 6/' \
  -e 's/^checkpoint_every = .*/checkpoint_every = 12/' "$here/tiny.toml" > "$work/experiments/tune.toml"
cat >> "$work/experiments/tune.toml" <<'TOML'
[search]
"loss.style_weight" = { min = 1e4, max = 1e7, log = true }
"loss.content_weight" = { min = 100.0, max = 1e4, log = true }
"optim.lr" = { min = 1e-4, max = 1e-2, log = true }
[study]
auto_launch = true
TOML
cd "$work"
finished() { grep -l '"finished"' runs/*/status.json 2>/dev/null | wc -l; }
wait_finished() { # wait_finished N SECONDS
  for _ in $(seq $(( $2 * 2 ))); do [ "$(finished)" -ge "$1" ] && return 0; sleep 0.5; done
  echo "FAIL: $(finished) of $1 runs finished after $2 s"; screen; exit 1
}
start
wait_for "No runs in runs yet" 10
tmux -L $sock send-keys -t e2e n
wait_for "Enter starts the study: 4 candidates" 10
tmux -L $sock send-keys -t e2e Enter
wait_for "study tune: launched 4 candidates" 20
wait_finished 4 120
echo "ok: the study's four candidates trained"
tmux -L $sock send-keys -t e2e b
wait_for "best-of-4 · study tune" 10
for round in 1 2 3; do
  wait_for "best-of-4 · study tune · round $round · step 12" 120
  tmux -L $sock send-keys -t e2e $(( (round % 4) + 1 ))
  wait_for "launched" 20
  wait_finished $(( 4 + round )) 120
done
echo "ok: three rounds judged, three proposals launched and trained"
[ "$(wc -l < runs/ratings.jsonl)" -eq 3 ] || { echo "FAIL: ratings.jsonl"; cat runs/ratings.jsonl; exit 1; }
ls experiments/proposed/tune-7.toml >/dev/null
grep -q "predicted utility" experiments/proposed/tune-7.toml
tmux -L $sock send-keys -t e2e Escape
sleep 0.5
tmux -L $sock send-keys -t e2e q
sleep 1
start
wait_for "SCORE" 10
tmux -L $sock send-keys -t e2e o
wait_for "ordered by score" 5
# The top row of the table is scored (+x.xx±y.yy), judged runs have a score after the restart.
screen | sed -n 3p | grep -qE '[+-][0-9]\.[0-9]{2}±[0-9]' || { echo "FAIL: no score on the top row"; screen; exit 1; }
echo "ok: after a restart the judgements rank the runs"
