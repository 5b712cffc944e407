#!/usr/bin/env bash
# Graphics smoke test in a REAL sixel terminal: xterm -ti vt340 under Xvfb shows the dashboard's
# run view of a finished tiny run (inside tmux, as users run it); a screenshot must contain the
# gallery's images as pixels (many distinct colours), not just text. Needs: xvfb xterm
# imagemagick x11-utils tmux. Usage: tests/e2e/sixel_smoke.sh PATH/TO/atelier [OUT.png]
set -euo pipefail
bin=$(realpath "${1:?usage: sixel_smoke.sh PATH/TO/atelier [OUT.png]}")
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$(mktemp -d)/sixel.png}
for t in Xvfb xterm import tmux xwininfo xdpyinfo; do
  command -v $t >/dev/null || { echo "sixel_smoke: $t missing (apt-get install -y xvfb xterm imagemagick x11-utils tmux)"; exit 2; }
done
work=$(mktemp -d -t atelier-sixel.XXXX)
sock=atelier-sixel-$$
# Xvfb picks a free display itself (-displayfd): a random number could meet a server another
# suite (or user) holds.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
xvfb=$!
trap 'tmux -L $sock kill-server 2>/dev/null || true; kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "sixel_smoke: Xvfb did not start"; cat "$work/xvfb.log"; exit 1; }
disp=:$(head -n1 "$work/display")
for _ in $(seq 50); do DISPLAY=$disp xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

# A finished tiny run with samples (the e2e spec, shortened).
"$bin" train "$here/tiny.toml" --runs-dir "$work/runs" --quiet --steps 20 \
  --set train.sample_every=10 --set data.probe_size=64

cd "$work"
# Start the dashboard only once xterm is attached: in a detached session the terminal query
# gets no cell size and falls back to half blocks.
tmux -L $sock -f /dev/null new-session -d -x 140 -y 42 "sleep 4; exec $bin dashboard --runs-dir runs 2>$work/stderr.txt"
tmux -L $sock set -g status off >/dev/null
tmux -L $sock set -g allow-passthrough on >/dev/null 2>&1 || true
DISPLAY=$disp xterm -fa Monospace -fs 10 -geometry 140x42+0+0 -ti vt340 -xrm 'XTerm*allowWindowOps: true' -xrm 'XTerm*numColorRegisters: 256' \
  -e tmux -L $sock attach >"$work/xterm.log" 2>&1 &
sleep 9                      # the dashboard starts, queries the terminal (up to 2 s), scans, draws
tmux -L $sock send-keys Enter
sleep 5                      # the run view: samples decoded, encoded as sixel, sent
wid=$(DISPLAY=$disp xwininfo -root -tree | awk '/"xterm"/ {print $1; exit}')
DISPLAY=$disp import -window "${wid:-root}" "$out"
colours=$(identify -format %k "$out")
echo "sixel_smoke: screenshot $out has $colours distinct colours"
header=$(tmux -L $sock capture-pane -p | head -1)
echo "$header"
case "$header" in
  *"graphics: sixel"*) ;;
  *) echo "FAIL: the dashboard did not pick sixel graphics in a sixel terminal"; exit 1 ;;
esac
if [ "$colours" -lt 200 ]; then
  echo "FAIL: expected the gallery's images (>= 200 colours); stderr:"; cat "$work/stderr.txt" || true
  exit 1
fi
echo "sixel_smoke: images are on screen"
