#!/usr/bin/env bash
# A small montage for docs/quality.md: content | style | output(s), each scaled to HEIGHT px.
#
#   bench/montage.sh OUT.png HEIGHT CONTENT STYLE OUTPUT [OUTPUT ...]
set -euo pipefail
out=$1 height=$2
shift 2
args=()
for img in "$@"; do args+=("(" "$img" -resize "x$height" ")"); done
convert "${args[@]}" -background white -splice 4x0 +append -chop 4x0 -strip "$out"
