#!/usr/bin/env bash
# `stagewise train markov` against the same model in PyTorch (bench/markov_torch.py),
# one thread each, side by side in one run: S = 10, N = 32, K = 3, H = 3,
# gamma = 2, c = 1, sigma = 0.1, Adam 1e-2, batch 128 fresh sequences a step.
# CPU seconds are the measure (the machine is shared).  PyTorch's are the
# training loop's (process_time around it; import and setup excluded);
# stagewise's are given both ways: the training loop's (train's metadata,
# cpu_seconds: sampling, steps and the evaluations at the first and last
# step) and the whole process's (start, setup and the loop), which leans
# towards PyTorch.  Wall seconds beside them.  Also checks
# that no idle thread burns CPU (bench/threadcpu.py: process CPU against the
# main thread's).  The three runs alternate REPEATS times and each keeps its
# least CPU time: CPU seconds too grow when other jobs share the core's caches.
# Needs python3-torch (installed here if missing, as root).
#   bash bench/markov.sh [STEPS] [BUILD_DIR] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
steps=${1:-1000}
build=${2:-build}
repeats=${3:-3}
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
    [ "$(id -u)" -eq 0 ] || { echo "bench/markov.sh: install python3-torch (as root)" >&2; exit 2; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
ninja -C "$build" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

machine_line
spin_control
# PyTorch's steps are slow: a tenth as many give the same per-step figure.
tsteps=$((steps / 10 > 20 ? steps / 10 : 20))
sw="" pt="" pt32=""
for ((i = 0; i < repeats; i++)); do
    run=$(/usr/bin/python3 bench/threadcpu.py "$build/stagewise" train markov \
        --optim adam --lr 0.01 --batch 128 --steps "$steps" --eval-every "$steps" \
        --out "$work/mk.csv" --meta "$work/mk.json")
    loop=$(meta_cpu "$work/mk.json")
    sw=$(least process_cpu "$run loop_cpu=$loop" "$sw")
    pt=$(least cpu "$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/markov_torch.py "$tsteps" 1)" "$pt")
    pt32=$(least cpu "$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/markov_torch.py "$tsteps" 1 float32)" "$pt32")
done
echo "stagewise         steps=$steps $sw"
echo "pytorch float64   $pt"
echo "pytorch float32   $pt32"
awk -v steps="$steps" -v sw="$sw" -v pt="$pt" -v pt32="$pt32" '
function field(s, k,   a, i, n) { n = split(s, a, /[ =]/); for (i = 1; i < n; i++) if (a[i] == k) return a[i + 1] }
BEGIN {
    l = steps / field(sw, "loop_cpu"); s = steps / field(sw, "process_cpu")
    p = field(pt, "steps_per_cpu_s"); q = field(pt32, "steps_per_cpu_s")
    printf "steps per CPU second, training loops: stagewise %.1f, pytorch float64 %.1f (stagewise %.1fx), float32 %.1f (%.1fx)\n", l, p, l / p, q, l / q
    printf "stagewise whole process: %.1f steps per CPU second (%.1fx float64, %.1fx float32)\n", s, s / p, s / q
    printf "idle threads: process CPU / main thread CPU = %s\n", field(sw, "ratio")
}'
