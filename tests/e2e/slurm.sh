#!/usr/bin/env bash
# End-to-end against a real one-node Slurm (slurm-wlm + munge, started here as root, stopped by
# pid at the end). The workspace's atelier.toml says launcher = "slurm" and asks for every CPU of
# the node, so the node fits one run at a time:
#  1. `atelier train` submits run A (long); it goes running on the node.
#  2. run B (short) is submitted and waits: `queued` with Slurm's reason, in `atelier runs` and in
#     the dashboard (tmux capture).
#  3. `scontrol requeue` A: its trainer checkpoints on SIGTERM and the job waits again; B gets
#     the node and goes running -> finished with a complete run directory; A runs again and
#     continues the step count from its checkpoint, with no metric row twice.
#  4. stop A from the dashboard: a checkpoint and `stopped`.
#  5. a study with auto_launch: `atelier propose` submits its proposals as jobs; they finish.
# Usage: tests/e2e/slurm.sh PATH/TO/atelier
set -euo pipefail
bin=$(realpath "${1:?usage: slurm.sh PATH/TO/atelier}")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/tmux_lib.sh"
source "$here/slurm_lib.sh"
slurm_install
workspace slurm
SLURM_DIR=$(mktemp -d -t atelier-slurmd.XXXX)
trap 'cleanup; slurm_down; rm -rf "$SLURM_DIR"' EXIT
slurm_up "$SLURM_DIR"
cd "$work"
cat > atelier.toml <<TOML
launcher = "slurm"
[slurm]
cpus = $(nproc)
time = "15:00"
signal_secs = 60
TOML
cp "$here/tiny.toml" experiments/tiny.toml
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }
fail() { echo "FAIL: $*"; echo "--- atelier runs"; "$bin" runs || true; echo "--- squeue"; squeue --states=all || true; exit 1; }
field() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
state_of() { "$bin" runs --json | python3 -c "import json,sys
for r in json.load(sys.stdin):
    if r['dir'].endswith(sys.argv[1]): s=r['state']; print(s if isinstance(s,str) else list(s.values())[0])" "$1"; }
wait_state() { # wait_state RUN STATE SECONDS
  for _ in $(seq $(( $3 * 2 ))); do [ "$(state_of "$1")" = "$2" ] && return 0; sleep 0.5; done
  fail "$1 not $2 after $3 s (is $(state_of "$1"))"
}
step_of() { field "$1/status.json" step 2>/dev/null || echo 0; }
wait_step() { # wait_step RUN STEP SECONDS
  for _ in $(seq $(( $3 * 2 ))); do [ "$(step_of "$1")" -ge "$2" ] && return 0; sleep 0.5; done
  fail "$1 at step $(step_of "$1") < $2 after $3 s"
}
no_repeated_steps() {
  python3 - "$1/metrics.jsonl" <<'PY' || fail "metric rows of $1 repeat or go back"
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if l.strip()]
assert steps == sorted(set(steps)), steps
print(f"ok: {len(steps)} metric rows, steps {steps[0]}..{steps[-1]}, none twice")
PY
}

# 1. Run A, long, submitted by the CLI through the workspace's launcher.
a=$("$bin" train experiments/tiny.toml --name long --set train.checkpoint_every=1000 2>/dev/null)
[ -f "$a/job.json" ] && [ -f "$a/job.sbatch" ] || fail "no job.json / job.sbatch in $a"
job_a=$(field "$a/job.json" job_id)
grep -q -- "--requeue" "$a/job.sbatch" && grep -q -- "--signal=B:TERM@60" "$a/job.sbatch" || fail "batch script"
wait_state "$a" running 60
wait_step "$a" 15 60
echo "ok: run A is Slurm job $job_a, running ($(elapsed))"

# 2. Run B waits for the node: queued, with Slurm's reason, in `atelier runs` and the dashboard.
start
b=$("$bin" train experiments/tiny.toml --name short --steps 30 --set train.checkpoint_every=10 2>/dev/null)
wait_state "$b" queued 20
# Slurm gives the reason at its next scheduling pass.
for _ in $(seq 40); do "$bin" runs | grep "short" | grep -q "queued.*(Resources)" && break; sleep 0.5; done
"$bin" runs | grep "short" | grep -q "queued.*(Resources)" || fail "no (Resources) in atelier runs"
wait_for "(Resources)" 15
screen | grep "short" | grep -q "queued.*(Resources)" || { screen; fail "no queue reason in the dashboard"; }
echo "ok: run B queued with reason Resources, in atelier runs and the dashboard ($(elapsed))"

# 3. Requeue A: it checkpoints on SIGTERM and waits again; B runs and finishes.
before=$(step_of "$a")
scontrol requeue "$job_a"
wait_state "$a" queued 30
ck=$(cat "$a/checkpoints/latest")
echo "ok: A requeued at step ~$before, checkpoint $ck, queued again ($(elapsed))"
wait_state "$b" running 30
wait_state "$b" finished 120
for f in spec.toml status.json metrics.jsonl events.jsonl train.log job.json job.sbatch \
  samples/index.jsonl checkpoints/latest; do
  [ -s "$b/$f" ] || fail "run B lacks $f"
done
[ "$(field "$b/status.json" step)" = 30 ] || fail "run B did not reach step 30"
grep -q "slurm job" "$b/train.log" || fail "train.log lacks the job's own lines"
no_repeated_steps "$b"
echo "ok: run B went queued -> running -> finished with a complete run directory ($(elapsed))"
# A requeued job waits ~2 min (BeginTime); let it start now.
scontrol update jobid="$job_a" StartTime=now
wait_state "$a" running 60
resumed_from=${ck#step_}
wait_step "$a" $(( 10#$resumed_from + 10 )) 60
grep -q '"resumed"' "$a/events.jsonl" || fail "A did not resume"
[ "$(field "$a/job.json" job_id)" = "$job_a" ] || fail "requeue changed the job id"
no_repeated_steps "$a"
echo "ok: A resumed from step $((10#$resumed_from)) in the same job and continues ($(elapsed))"

# 4. Stop A from the dashboard: the graceful stop through control.jsonl.
tmux -L "$sock" send-keys -t e2e /
tmux -L "$sock" send-keys -t e2e l o n g Enter
wait_for "long" 5
tmux -L "$sock" send-keys -t e2e s
wait_for "Stop " 5
tmux -L "$sock" send-keys -t e2e y
wait_for "is stopping" 30
wait_state "$a" stopped 60
stop_step=$(step_of "$a")
[ "$(cat "$a/checkpoints/latest")" = "$(printf 'step_%07d' "$stop_step")" ] || fail "no checkpoint at the stop step $stop_step"
no_repeated_steps "$a"
echo "ok: stopped A from the dashboard: checkpoint at step $stop_step, stopped ($(elapsed))"
tmux -L "$sock" send-keys -t e2e q

# 5. A study that auto-launches: its proposals are submitted as jobs and train.
sed -e 's/^steps = .*/steps = 12/' -e 's/^sample_every = .*/sample_every = 6/' \
  -e 's/^checkpoint_every = .*/checkpoint_every = 12/' "$here/tiny.toml" > experiments/tune.toml
cat >> experiments/tune.toml <<'TOML'
[search]
"loss.style_weight" = { min = 1e4, max = 1e7, log = true }
"optim.lr" = { min = 1e-4, max = 1e-2, log = true }
[study]
auto_launch = true
candidates = 2
TOML
"$bin" propose experiments/tune.toml | tee propose.out
[ "$(grep -c '^launched' propose.out)" = 2 ] || fail "the study launched $(grep -c '^launched' propose.out) proposals"
for id in $(sed -n 's/^launched //p' propose.out); do
  [ -f "runs/$id/job.json" ] || fail "proposal run $id has no job"
  wait_state "runs/$id" finished 120
done
echo "ok: the study's proposals ran as Slurm jobs and finished ($(elapsed))"
echo "ok: slurm end-to-end in $(elapsed)"
