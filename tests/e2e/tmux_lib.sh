# Shared by the tmux end-to-end scripts (sourced): a scratch workspace, and the dashboard in a
# tmux session `e2e` on the server "$sock", started in the current directory with "$bin".
# Call `workspace NAME` first (it sets $work and $sock); needs $bin set.

# workspace NAME: a scratch $work with experiments/, a tmux server name $sock, and an EXIT trap
# that ends the server and every detached trainer under $work, then removes it.
workspace() {
  work=$(mktemp -d -t "atelier-$1.XXXX")
  sock=atelier-$1-$$
  mkdir -p "$work/experiments"
  trap cleanup EXIT
}
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  # Detached trainers outlive the dashboard by design: end them by the pid in their status.
  for st in "$work"/runs/*/status.json; do
    [ -f "$st" ] && kill "$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['pid'])" "$st")" 2>/dev/null || true
  done
  pkill -f "$work/runs" 2>/dev/null || true
  rm -rf "$work"
}
screen() { tmux -L "$sock" capture-pane -p -t e2e; }
wait_for() { # wait_for PATTERN SECONDS
  for _ in $(seq $(( $2 * 5 ))); do screen | grep -q -- "$1" && return 0; sleep 0.2; done
  echo "FAIL: '$1' not on screen after $2 s. Screen:"; screen; exit 1
}
start() { # start [DASHBOARD OPTIONS...]
  tmux -L "$sock" new-session -d -s e2e -x 160 -y 48 "$bin dashboard --runs-dir runs --experiments experiments --graphics halfblocks $*"
}
