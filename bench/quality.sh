#!/usr/bin/env bash
# Train one single_style recipe, stylize held-out photos at 512 px short side, and score them with
# `atelier eval` (SSIM, style and texture gains, beside the colour-only baseline). Used to build
# the tables in docs/quality.md.
#
#   bench/quality.sh NAME SPEC STYLE_IMAGE PHOTO_DIR [--set key=value ...]
#
# Environment: ATELIER (binary; default target/release/atelier), QUALITY_DIR (work folder;
# default /tmp/atelier-quality). The photos are resized to 512 px short side first (ImageMagick
# `convert`); PHOTO_DIR must not hold any image the spec trains on.
set -euo pipefail
name=$1 spec=$2 style=$3 photos=$4
shift 4
bin=${ATELIER:-target/release/atelier}
work=${QUALITY_DIR:-/tmp/atelier-quality}
mkdir -p "$work/heldout512" "$work/runs" "$work/out/$name" "$work/scores"
for p in "$photos"/*; do
  base=$(basename "${p%.*}").png
  [ -f "$work/heldout512/$base" ] || convert "$p" -resize '512x512^' "$work/heldout512/$base"
done
style_abs=$(realpath "$style")
start=$(date +%s)
"$bin" train "$spec" --runs-dir "$work/runs" --name "$name" --quiet --set "data.style=\"$style_abs\"" "$@"
end=$(date +%s)
run=$(ls -td "$work/runs/"*"-$name" | head -1)
"$bin" stylize --run "$run" --input "$work/heldout512" --output "$work/out/$name" >/dev/null
"$bin" eval --content "$work/heldout512" --style "$style_abs" --output "$work/out/$name" --json \
  >"$work/scores/$name.jsonl"
python3 - "$work/scores/$name.jsonl" "$name" "$((end - start))" "$run" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if "ssim" in r]
m = lambda k: sum(r[k] for r in rows) / len(rows)
st = json.load(open(sys.argv[4] + "/status.json"))
print(json.dumps({"name": sys.argv[2], "images": len(rows), "steps": st.get("step"),
                  "train_s": int(sys.argv[3]), "ssim": round(m("ssim"), 3),
                  "style_gain": round(m("style_gain"), 3), "texture_gain": round(m("texture_gain"), 3),
                  "hist_style_gain": round(m("histogram_style_gain"), 3),
                  "hist_texture_gain": round(m("histogram_texture_gain"), 3),
                  "detail": round(m("texture_energy"), 2) if all("texture_energy" in r for r in rows) else None,
                  "checkerboard": round(m("checkerboard"), 4)}))
PY
