#!/usr/bin/env bash
# Run bench/quality.sh for each line of a sweep file, one after another (the runs are timed, so
# never two at once). A line: NAME STYLE_IMAGE [--set key=value ...]; `#` starts a comment.
# Every run trains bench/quality/base.toml on the built-in scenes and is scored on PHOTO_DIR.
#
#   bench/quality_sweep.sh SWEEP_FILE PHOTO_DIR
set -euo pipefail
sweep=$1 photos=$2
here=$(dirname "$0")
while read -r name style rest; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  # shellcheck disable=SC2086
  "$here/quality.sh" "$name" "$here/quality/base.toml" "$style" "$photos" $rest
done <"$sweep"
