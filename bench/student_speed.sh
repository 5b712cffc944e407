#!/usr/bin/env bash
# Generator sizes at inference, atelier (flex) against PyTorch on the same networks, interleaved:
# examples/generator_size.rs and bench/generator_size.py alternate PASSES times, each timing
# every size per round. Run on a quiet machine (PyTorch's OpenMP threads slow down several-fold
# when anything else competes). Needs `pip install torch`.
#
#   bench/student_speed.sh [PASSES] [THREADS] [W,B ...]     (default 3 passes, 2 threads)
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${1:-3}
threads=${2:-2}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(16,3 8,3 8,2 4,1)
cargo build --release --example generator_size --quiet
bin=${CARGO_TARGET_DIR:-target}/release/examples/generator_size
for p in $(seq "$passes"); do
  echo "# pass $p: atelier"
  "$bin" --rounds 5 --threads "$threads" "${sizes[@]}"
  echo "# pass $p: pytorch $(python3 -c 'import torch; print(torch.__version__)')"
  OMP_NUM_THREADS=$threads python3 -W ignore bench/generator_size.py --rounds 5 --threads "$threads" "${sizes[@]}"
done
