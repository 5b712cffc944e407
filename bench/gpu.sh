#!/usr/bin/env bash
# The one-shot GPU measurement, in two halves: build here, measure there. The GPU machine has no
# package registry and takes a folder of at most 64 MiB, so `prepare` builds the release binary
# with --features cuda and packs it stripped and gzipped (~69 MB -> ~17 MB) into .device/
# (git-ignored), with the PyTorch reference, the experiments and a painting and a few photos
# when ../shared/images exists (else the built-in scenes and painting are used).
#
#   build machine:  bash bench/gpu.sh prepare         # fills .device/, prints its size
#   GPU machine:    bash .device/gpu.sh run           # from the repository root; results in $OUT
#
# `run` writes into $OUT (default ./gpu-results): log.txt (everything), summary.txt (the table
# of ratios, MFU, wall times), bench_{f32,bf16}.jsonl (atelier bench), torch_cuda.jsonl (the
# PyTorch reference on the same GPU), smi.csv (utilisation and memory every second), the
# quickstart's and the 256 px starry run's events and scores, stylize timings, and eval scores.
# Each step has its own time limit, so one hang costs its step, not the session.
set -u
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
prepare)
  set -e
  root=$(git -C "$here" rev-parse --show-toplevel)
  cd "$root"
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
  target=${CARGO_TARGET_DIR:-$root/target}
  cargo build --release --locked --features cuda
  rm -rf .device && mkdir -p .device/images/photos
  strip -o .device/atelier "$target/release/atelier"
  gzip -f -1 .device/atelier
  cp "$here/gpu.sh" .device/
  ref="$root/../shared/bench/torch_reference.py"
  [ -f "$ref" ] && cp "$ref" .device/ || echo "no torch_reference.py beside the checkout: PyTorch is skipped"
  cp -r experiments .device/experiments
  shared="$root/../shared/images"
  if [ -d "$shared" ]; then
    for f in "$shared"/*; do
      case "$(basename "$f")" in
        starry*) cp "$f" .device/images/starry_night.jpg ;;
        *scream*|*matisse*|*painting*) ;;
        *.jpg|*.jpeg|*.png) cp "$f" .device/images/photos/ ;;
      esac
    done
  fi
  du -sh .device
  size=$(du -sb .device | cut -f1)
  [ "$size" -lt $((64 * 1024 * 1024)) ] || { echo ".device is over 64 MiB"; exit 1; }
  ;;
run)
  OUT=${OUT:-$PWD/gpu-results}; mkdir -p "$OUT"
  exec > >(tee "$OUT/log.txt") 2>&1
  D=$PWD/.device; B=/tmp/atelier; R=/tmp/gpu-runs
  gunzip -c "$D/atelier.gz" > $B; chmod +x $B
  export RUST_BACKTRACE=1
  nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  # cudarc loads libcuda / libnvrtc at run time; without nvcc at build time it assumes the newest CUDA.
  libdirs=$(find /usr/local /opt /usr/lib -name 'libnvrtc.so*' -o -name 'libcuda.so*' 2>/dev/null | xargs -r -n1 dirname | sort -u | tr '\n' ':')
  export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:-}"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -l 1 > "$OUT/smi.csv" 2>&1 &
  smi=$!
  trap 'kill $smi 2>/dev/null' EXIT
  step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

  step "first CUDA call (stylize512, 5 s)"
  SECONDS=0
  timeout 120 $B bench --backend cuda --workload stylize512 --seconds 5 > "$OUT/bench_first.jsonl"; rc=$?
  echo "rc=$rc after ${SECONDS}s"; cat "$OUT/bench_first.jsonl"
  if [ $rc != 0 ]; then ldconfig -p | grep -i -E "nvrtc|libcuda"; exit 1; fi

  step "atelier and PyTorch, the three workloads, same GPU"
  timeout 150 $B bench --backend cuda --workload single_style --workload cyclegan --workload stylize512 --seconds 10 > "$OUT/bench_f32.jsonl"
  if [ -f "$D/torch_reference.py" ]; then
    timeout 150 python3 "$D/torch_reference.py" --device cuda --seconds 10 > "$OUT/torch_cuda.jsonl"
  fi
  # bf16 (train.precision) is measured once `atelier bench` takes it; until then this says so.
  if $B bench --help | grep -q -- --precision; then
    timeout 150 $B bench --backend cuda --precision bf16 --workload single_style --workload cyclegan --workload stylize512 --seconds 10 > "$OUT/bench_bf16.jsonl"
  else
    echo "bf16: this build's bench has no --precision" | tee "$OUT/bench_bf16.jsonl"
  fi

  step "images for stylize (512x512, 1024x1024, 4096x2160) and the eval photos"
  mkdir -p /tmp/gpu-in
  python3 - <<'PY'
import math, struct, zlib
def png(path, w, h):
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            u, v = x / w, y / h
            rows += bytes((int(127 + 120 * math.sin(9 * u + 3 * v)), int(127 + 120 * math.sin(5 * v - 2 * u)), int(255 * u * v)))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(bytes(rows), 1)) + chunk(b"IEND", b""))
for w, h in [(512, 512), (1024, 1024), (4096, 2160)]:
    png(f"/tmp/gpu-in/{w}x{h}.png", w, h)
PY
  ls -la /tmp/gpu-in

  step "quickstart (600 steps) on the GPU"
  rm -rf $R; mkdir -p $R
  SECONDS=0
  (cd "$D" && timeout 150 $B train experiments/quickstart.toml --backend cuda --runs-dir $R --name qs --quiet)
  echo "quickstart rc=$? wall ${SECONDS}s"
  grep -h '"finished"\|"failed"' $R/*qs*/events.jsonl | tail -2

  step "the 256 px starry recipe for 2 minutes, then its probes scored"
  style="$D/images/starry_night.jpg"; photos="$D/images/photos"
  sets=(--set train.max_minutes=2 --set train.steps=100000)
  [ -f "$style" ] && sets+=(--set "data.style=$style") || sets+=(--set data.style=builtin --set data.style_size=1024)
  [ -n "$(ls -A "$photos" 2>/dev/null)" ] && sets+=(--set "data.content=$photos") || sets+=(--set data.content=builtin)
  SECONDS=0
  (cd "$D" && timeout 200 $B train experiments/gpu/starry.toml "${sets[@]}" --backend cuda --runs-dir $R --name starry256 --quiet)
  echo "starry256 rc=$? wall ${SECONDS}s"
  run=$(ls -d $R/*starry256* | head -1)
  grep -h '"finished"\|"failed"' "$run/events.jsonl" | tail -2
  tail -1 "$run/metrics.jsonl"
  timeout 120 $B eval --run "$run" --runs-dir $R > "$OUT/eval_starry256.txt" 2>&1; tail -5 "$OUT/eval_starry256.txt"

  step "stylize: ms per image at 512, 1024 and 4096x2160 (the starry256 generator)"
  for f in 512x512 1024x1024 4096x2160; do
    for i in 1 2; do
      s=$(date +%s.%N)
      timeout 60 $B stylize --run "$run" --input /tmp/gpu-in/$f.png --output /tmp/gpu-in/out_$f.png > /dev/null
      e=$(date +%s.%N)
      echo "stylize $f try $i: $(python3 -c "print(round(($e - $s) * 1000))") ms (process, load included)"
    done
  done
  timeout 60 $B bench --backend cuda --workload stylize512 --seconds 5 > "$OUT/bench_stylize512.jsonl"; cat "$OUT/bench_stylize512.jsonl"

  kill $smi 2>/dev/null
  step "summary"
  {
    echo "GPU utilisation during the run (smi.csv: mean, max %), peak memory (MiB):"
    awk -F', ' '$2 ~ /^[0-9]+$/ { n++; s += $2; if ($2 > m) m = $2; if ($3 > p) p = $3 } END { if (n) printf "  util mean %.0f%%, max %d%%; peak memory %d MiB over %d s\n", s / n, m, p, n }' "$OUT/smi.csv"
    echo "atelier / PyTorch (img/s) and MFU against the H200's 67 TFLOP/s FP32 (dense):"
    python3 - "$OUT/bench_f32.jsonl" "$OUT/torch_cuda.jsonl" <<'PY'
import json, sys
# FLOPs per image (forward + backward where trained): docs/benchmarks.md.
flops = {"stylize512": 72.6e9, "cyclegan": 470e9}
def load(p):
    try:
        return {r["workload"]: r for r in map(json.loads, open(p)) if "workload" in r}
    except OSError:
        return {}
a, t = load(sys.argv[1]), load(sys.argv[2])
for w, r in a.items():
    def rate(r):
        ms = r.get("ms_per_image")
        return r.get("images_per_s") or (1000.0 / ms if ms else None)
    ips = rate(r) or 0.0
    ref = rate(t.get(w, {}))
    ratio = f"{ips / ref:.2f}x" if ref else "n/a"
    mfu = f"{100 * ips * flops[w] / 67e12:.1f}%" if w in flops else "n/a"
    refs = f"{ref:.2f}" if ref else "n/a"
    print(f"  {w:>12}: atelier {ips:.2f} img/s, PyTorch {refs} img/s, ratio {ratio}, MFU {mfu}")
PY
  } | tee "$OUT/summary.txt"
  cp $R/*/events.jsonl "$OUT/" 2>/dev/null
  for r in $R/*/; do cp "$r/events.jsonl" "$OUT/events_$(basename "$r").jsonl" 2>/dev/null; cp "$r/samples/scores.jsonl" "$OUT/scores_$(basename "$r").jsonl" 2>/dev/null; done
  ;;
*) sed -n 2,15p "$0"; exit 2 ;;
esac
