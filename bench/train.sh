#!/usr/bin/env bash
# Trainer speed: optimiser steps per second, read from the metadata that
# `stagewise train` writes (steps / wall time of the training loop, which
# includes sampling fresh data every step and the evaluations).
#   markov      the default configuration (S = 10, N = 32, K = 3, H = 3, Adam,
#               batch 128), the reference run of docs/reproduce.md
#   regression  y-full's defaults (H = K = 3, T = 16, d = 4), sgd, batch 64
#   gd          regression with population gradients (no sampling)
# Evaluations only at the first and last step, so the numbers are the
# training steps themselves.  Needs a release build in build/.
#   bash bench/train.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {
    local name=$1 steps=$2
    shift 2
    "$build/stagewise" train "$@" --steps "$steps" --eval-every "$steps" \
        --out "$work/$name.csv"
    python3 - "$work/$name.json" "$name" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
t = m["training"]
print(f"{sys.argv[2]:<11} {t['optim']:<5} batch {t['batch']:>4}  {m['stats']['steps']:>6} steps"
      f"  {m['wall_seconds']:7.2f} s  {m['steps_per_second']:9.1f} steps/s")
EOF
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run markov 1000 markov --optim adam --lr 0.01 --batch 128
run regression 20000 regression --optim sgd --lr 0.05 --batch 64
run gd 200000 regression --optim gd --lr 0.05
