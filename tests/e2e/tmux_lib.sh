# Shared by the tmux end-to-end scripts (sourced): the dashboard in a tmux session `e2e` on the
# server "$sock", started in the current directory with "$bin". Needs $sock and $bin set.
screen() { tmux -L "$sock" capture-pane -p -t e2e; }
wait_for() { # wait_for PATTERN SECONDS
  for _ in $(seq $(( $2 * 5 ))); do screen | grep -q -- "$1" && return 0; sleep 0.2; done
  echo "FAIL: '$1' not on screen after $2 s. Screen:"; screen; exit 1
}
start() {
  tmux -L "$sock" new-session -d -s e2e -x 160 -y 48 "$bin dashboard --runs-dir runs --experiments experiments --graphics halfblocks"
}
