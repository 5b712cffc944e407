#!/usr/bin/env bash
# Theme detection in a REAL terminal: xterm under Xvfb, once with its default white background and
# once with -rv (reverse video: black), runs the dashboard with no theme setting (COLORFGBG,
# NO_COLOR and ATELIER_THEME unset), so only the terminal's answer to OSC 11 can choose the
# palette. In each screenshot the runs table's header row ("NAME MODE STATE …") must be drawn in
# that palette's header colour and reach WCAG AA (4.5:1) against the background measured in the
# same screenshot. Needs: xvfb xterm imagemagick x11-utils python3.
# Usage: tests/e2e/theme_contrast.sh PATH/TO/atelier [OUT_DIR]   (screenshots: OUT_DIR/{light,dark}.png)
set -euo pipefail
bin=$(realpath "${1:?usage: theme_contrast.sh PATH/TO/atelier [OUT_DIR]}")
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${2:-}" ]; then mkdir -p "$2"; out=$(cd "$2" && pwd); else out=$(mktemp -d); fi
for t in Xvfb xterm import convert xwininfo xdpyinfo python3; do
  command -v $t >/dev/null || { echo "theme_contrast: $t missing (apt-get install -y xvfb xterm imagemagick x11-utils)"; exit 2; }
done
work=$(mktemp -d -t atelier-theme.XXXX)
# Xvfb picks a free display itself (-displayfd), so a server another suite left behind on a
# random number cannot take this one's windows.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
xvfb=$!
term=
trap '[ -n "$term" ] && kill $term 2>/dev/null; kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
disp=:$(head -n1 "$work/display")
for _ in $(seq 50); do DISPLAY=$disp xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

# One finished tiny run, so the table has its header.
"$bin" train "$here/tiny.toml" --runs-dir "$work/runs" --quiet --steps 4 \
  --set train.sample_every=2 --set data.probe_size=64

cols=100 rows=24
fail=0
# shoot MODE: start xterm on the dashboard and screenshot it until the header row has text;
# fails (status 1) when it never does.
shoot() {
  local mode=$1 rv=() attempt
  [ $mode = dark ] && rv=(-rv)
  shot="$out/$mode.png"
  (cd "$work" && DISPLAY=$disp exec xterm -b 0 -fa Monospace -fs 12 -geometry ${cols}x${rows}+0+0 "${rv[@]}" \
    -e env -u COLORFGBG -u NO_COLOR -u ATELIER_THEME "$bin" dashboard --runs-dir runs) >"$work/xterm.log" 2>&1 &
  term=$!
  wid=
  for _ in $(seq 50); do
    wid=$(DISPLAY=$disp xwininfo -root -tree | awk '/"xterm"/ {print $1; exit}')
    [ -n "$wid" ] && break; sleep 0.1
  done
  # The dashboard asks the terminal, scans the runs and draws: on a loaded machine that can take
  # longer than a first screenshot waits, so an empty header row is shot again (up to ~20 s).
  for attempt in $(seq 10); do
    sleep 2
    # xterm itself may map late too (the first shot of a failed CI run was the bare root window).
    [ -n "$wid" ] || wid=$(DISPLAY=$disp xwininfo -root -tree | awk '/"xterm"/ {print $1; exit}')
    DISPLAY=$disp import -window "${wid:-root}" "$shot"
    read -r w h < <(identify -format '%w %h\n' "$shot")
    cw=$(( w / cols )) ch=$(( h / rows ))
    # The whole screen's histogram (the background is its most common colour), then the header
    # row's first 40 columns (NAME, MODE, STATE).
    convert "$shot" -format %c histogram:info:- >"$work/screen.txt"
    convert "$shot" -crop $(( 40 * cw ))x${ch}+0+${ch} +repage -format %c histogram:info:- >"$work/header.txt"
    if [ "$(wc -l <"$work/header.txt")" -gt 1 ]; then
      kill $term 2>/dev/null || true; wait $term 2>/dev/null || true; term=
      return 0
    fi
    echo "theme_contrast $mode: header row still empty after attempt $attempt"
  done
  kill $term 2>/dev/null || true; wait $term 2>/dev/null || true; term=
  return 1
}

for mode in light dark; do
  # One more xterm when the first never drew (seen once in a CI run: a bare root window for
  # 20 s), with what the first one said.
  if ! shoot $mode; then
    echo "theme_contrast $mode: xterm said:"; sed 's/^/  /' "$work/xterm.log"
    DISPLAY=$disp xwininfo -root -tree | sed -n '1,12s/^/  /p'
    shoot $mode || echo "theme_contrast $mode: the second xterm did not draw either"
  fi
  if ! python3 - "$mode" "$work/screen.txt" "$work/header.txt" <<'EOF'
import re, sys
mode, screen, header = sys.argv[1], sys.argv[2], sys.argv[3]
def hist(path):
    out = []
    for line in open(path):
        m = re.match(r"\s*(\d+):\s*\(\s*(\d+),\s*(\d+),\s*(\d+)", line)
        if m:
            out.append((int(m[1]), tuple(int(v) for v in m.groups()[1:4])))
    return out
def lum(c):
    lin = lambda v: v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
    r, g, b = map(lin, c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
def contrast(a, b):
    x, y = sorted([lum(a), lum(b)])
    return (y + 0.05) / (x + 0.05)
bg = max(hist(screen))[1]
# The glyphs' own colour: the most contrasting one with enough pixels (anti-aliased edges are
# mixtures with the background, so they contrast less).
ink = [c for n, c in hist(header) if n >= 20 and c != bg]
if not ink:
    sys.exit(f"theme_contrast {mode}: no text in the header row")
fg = max(ink, key=lambda c: contrast(c, bg))
expect = {"light": (135, 95, 0), "dark": (215, 215, 0)}[mode]  # the palettes' header: 94, 184
ratio = contrast(fg, bg)
print(f"theme_contrast {mode}: background #{bytes(bg).hex()}, header #{bytes(fg).hex()}, contrast {ratio:.2f}:1")
ok = ratio >= 4.5 and max(abs(a - b) for a, b in zip(fg, expect)) <= 8
ok = ok and (lum(bg) > 0.5) == (mode == "light")
sys.exit(0 if ok else f"FAIL: expected the {mode} palette's header #{bytes(expect).hex()} at >= 4.5:1")
EOF
  then fail=1; fi
done
echo "theme_contrast: screenshots in $out"
exit $fail
