#!/usr/bin/env bash
# Sweep throughput (points per second) on 1 and 2 threads, and the speedup.
#   Z reduced: 400 points of z-reduced (d x T, 20 x 20, log-spaced), plateau
#              time and the start-Jacobian prediction: the docs' grid.
#   Z full:    400 points of z-full (d = 2..21 x T = 8..512), plateau time.
#   Y msbdf:   100 points of y-reduced (gamma x sigma, 10 x 10), the three
#              transition times (level:1..3) with msbdf, as the docs run them.
#   Y bdf:     the same grid with stagewise's own BDF (structured Newton solves,
#              no BLAS, so no lock for the threads to share).
#   Y rk8pd:   100 points of y-reduced on a milder grid (gamma <= 2.5), where
#              the explicit default stepper is fine: no linear algebra.
# Two numbers per run: "loop", the points' own time as the sweep reports it
# (from the first point to the last), and "wall", the whole command (start,
# the check of every point, the final rewrite).  Best of REPEATS, each run
# into a fresh file (a rerun would resume).
# Needs a release build in build/ (scripts/quickstart.sh), or BUILD=dir.
#   bash bench/sweep.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
build=${BUILD:-build}
ninja -C "$build" >/dev/null
bin=$build/stagewise
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

zr=(z-reduced d=4:1024:20:log T=16:16384:20:log --measure plateau --predict --t-end 1e8)
zf=(z-full d=2:21:20 T=8:512:20:log sigma=0.01 --measure plateau --t-end 1e6)
levels=(--measure level:1 --measure level:2 --measure level:3 --t-end 1e7)
ym=(y-reduced gamma=1.25:8:10:log sigma=1e-4:1e-1:10:log "${levels[@]}" --solver msbdf)
yb=(y-reduced gamma=1.25:8:10:log sigma=1e-4:1e-1:10:log "${levels[@]}" --solver bdf)
yr=(y-reduced gamma=1.25:2.5:10:log sigma=1e-2:1e-1:10:log "${levels[@]}")

# "LOOP WALL": the best of each over the repeats, in seconds.
best() {
    local threads=$1; shift
    local loop="" wall="" t0 t1 out l w
    for ((i = 0; i < repeats; i++)); do
        rm -f "$work/s.csv"
        t0=$(date +%s.%N)
        out=$("$bin" sweep "$@" --threads "$threads" --out "$work/s.csv")
        t1=$(date +%s.%N)
        l=${out#*computed in }; l=${l%% s*}
        w=$(awk "BEGIN{print $t1 - $t0}")
        if [ -z "$loop" ] || awk "BEGIN{exit !($l < $loop)}"; then loop=$l; fi
        if [ -z "$wall" ] || awk "BEGIN{exit !($w < $wall)}"; then wall=$w; fi
    done
    echo "$loop $wall"
}

report() {
    local name=$1 points=$2; shift 2
    local one two
    one=$(best 1 "$@")
    two=$(best 2 "$@")
    awk -v n="$name" -v p="$points" -v one="$one" -v two="$two" 'BEGIN {
        split(one, a, " "); split(two, b, " ")
        printf "%-9s %3d points  loop %7.3f s %8.1f/s -> %7.3f s %8.1f/s  speedup %.2fx   wall %7.3f s -> %7.3f s  speedup %.2fx\n",
               n, p, a[1], p / a[1], b[1], p / b[1], a[1] / b[1], a[2], b[2], a[2] / b[2] }'
}

echo "stagewise sweep, 1 -> 2 threads, best of $repeats; machine: $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
report "Z reduced" 400 "${zr[@]}"
report "Z full" 400 "${zf[@]}"
report "Y msbdf" 100 "${ym[@]}"
report "Y bdf" 100 "${yb[@]}"
report "Y rk8pd" 100 "${yr[@]}"
