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
# Per run: "loop", the points' own time as the sweep reports it (from the
# first point to the last), "wall", the whole command (start, the check of
# every point, the final rewrite), and "cpu", the whole command's CPU time
# (user + system, all threads), shown per point: on a shared machine wall
# times depend on what else runs, CPU per point much less, and a CPU per
# point that grows from 1 to 2 threads is work the threads add (locks,
# spinning).  Best (least) of REPEATS for each, every run into a fresh file
# (a rerun would resume).  A spin control (two busy loops together against
# one, bench/common.sh) before each thread count says how much of a second
# core there was to have.
# Needs a release build in build/ (scripts/quickstart.sh), or BUILD=dir.
#   bash bench/sweep.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
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

# "LOOP WALL CPU": the best of each over the repeats, in seconds.
best() {
    local threads=$1; shift
    local loop="" wall="" cpu="" out l w c
    for ((i = 0; i < repeats; i++)); do
        rm -f "$work/s.csv"
        out=$(/usr/bin/time -f 'timing %e %U %S' "$bin" sweep "$@" --threads "$threads" \
              --out "$work/s.csv" 2>&1)
        l=${out#*computed in }; l=${l%% s*}
        read -r w c < <(awk '/^timing / { print $2, $3 + $4 }' <<<"$out")
        if [ -z "$loop" ] || awk "BEGIN{exit !($l < $loop)}"; then loop=$l; fi
        if [ -z "$wall" ] || awk "BEGIN{exit !($w < $wall)}"; then wall=$w; fi
        if [ -z "$cpu" ] || awk "BEGIN{exit !($c < $cpu)}"; then cpu=$c; fi
    done
    echo "$loop $wall $cpu"
}

report() {
    local name=$1 points=$2; shift 2
    local one two
    one=$(best 1 "$@")
    two=$(best 2 "$@")
    awk -v n="$name" -v p="$points" -v one="$one" -v two="$two" 'BEGIN {
        split(one, a, " "); split(two, b, " ")
        printf "%-9s %3d points  loop %7.3f s -> %7.3f s  speedup %.2fx   wall %7.3f s -> %7.3f s  speedup %.2fx   cpu/point %7.2f ms -> %7.2f ms\n",
               n, p, a[1], b[1], a[1] / b[1], a[2], b[2], a[2] / b[2], 1e3 * a[3] / p, 1e3 * b[3] / p }'
}

echo "stagewise sweep, 1 -> 2 threads, best of $repeats"
machine_line
spin_control
report "Z reduced" 400 "${zr[@]}"
report "Z full" 400 "${zf[@]}"
report "Y msbdf" 100 "${ym[@]}"
report "Y bdf" 100 "${yb[@]}"
report "Y rk8pd" 100 "${yr[@]}"
spin_control
