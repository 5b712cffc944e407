#!/usr/bin/env bash
# Interleaved A/B rounds against PyTorch: each round runs ../shared/bench/torch_reference.py, then
# `atelier bench` of every binary given, one after another on an otherwise idle machine (the
# machines these run on drift by 5% or more between hours, so only numbers from the same rounds
# are compared). One JSON line per run, prefixed with the binary's name.
#
#   bench/ab.sh WORKLOAD SECONDS ROUNDS BINARY...
#   bench/ab.sh single_style 20 3 /tmp/atelier-before target/release/atelier
#
# Environment: THREADS (default 2), TORCH_REFERENCE (default ../shared/bench/torch_reference.py).
set -euo pipefail
workload=$1 seconds=$2 rounds=$3
shift 3
threads=${THREADS:-2}
reference=${TORCH_REFERENCE:-$(dirname "$0")/../../shared/bench/torch_reference.py}
for _ in $(seq "$rounds"); do
  echo -n "torch "
  python3 "$reference" --threads "$threads" --device cpu --workload "$workload" --seconds "$seconds" 2>/dev/null | tail -1
  for bin in "$@"; do
    echo -n "$(basename "$bin") "
    "$bin" bench --workload "$workload" --backend flex --threads "$threads" --seconds "$seconds" 2>/dev/null | tail -1
  done
done
