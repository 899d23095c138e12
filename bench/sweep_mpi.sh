#!/usr/bin/env bash
# Sweep throughput across MPI ranks on this machine: points per second for
# one process and for mpirun -n 1, 2, 4 (one thread per rank), CPU time per
# point, and a spin control.
#   grid: 400 points of z-full (d = 2..21 x T = 8..512, log), plateau time:
#         2 ms a point or so, uneven (cost grows with d^2 + T).
# "loop" is the sweep's own count (first point to last: MPI start-up
# excluded), "wall" the whole command, "cpu/pt" user + system time of the
# command and every rank (they are its children) per point, and the same
# beyond the fixed CPU cost of the command (start-up, MPI_Init: the CPU time
# of a one-point sweep launched alike).  Best of REPEATS
# by loop time (round robin over the configurations), each run into a fresh
# file.
# Spin control: one busy loop alone, then two at once; the ratio of their
# wall times says how many cores the machine really offered meanwhile (1.0:
# two free cores, 2.0: one).
# Needs a release build with MPI in build/ (scripts/quickstart.sh), or BUILD=dir.
#   bash bench/sweep_mpi.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh
repeats=${1:-3}
build=${BUILD:-build}
ninja -C "$build" >/dev/null
bin=$build/stagewise
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)

grid=(z-full d=2:21:20 T=8:512:20:log sigma=0.01 --measure plateau --t-end 1e6 --threads 1)
points=400
# One cheap point: what a command costs beyond its points (start-up, MPI_Init).
tiny=(z-full d=2 T=8 sigma=0.01 --measure plateau --t-end 1e6 --threads 1)

# One run: "LOOP WALL CPU".
once() {
    local out t0 t1 l w cpu
    rm -f "$work/s.csv"
    t0=$(date +%s.%N)
    out=$( { /usr/bin/time -f "%U %S" -o "$work/time" "$@" "$bin" sweep "${run[@]}" \
               --out "$work/s.csv"; } 2>/dev/null)
    t1=$(date +%s.%N)
    l=${out#*computed in }; l=${l%% s*}
    w=$(awk "BEGIN{print $t1 - $t0}")
    cpu=$(awk '{print $1 + $2}' "$work/time")
    echo "$l $w $cpu"
}

names=("1 process" "mpirun -n 1" "mpirun -n 2" "mpirun -n 4")
launch=("" "${mpirun[*]} -n 1" "${mpirun[*]} -n 2" "${mpirun[*]} -n 4")
echo "stagewise sweep across MPI ranks, $points z-full points, best of $repeats"
machine_line
spin_control
# Round robin: every configuration once per round, so the machine's load
# (shared with other jobs) weighs on all alike; the best round of each.
declare -a best fixed
for ((r = 0; r < repeats; r++)); do
    for k in "${!names[@]}"; do
        run=("${grid[@]}")
        # shellcheck disable=SC2086
        res=$(once ${launch[$k]})
        if [ -z "${best[$k]:-}" ] || awk "BEGIN{exit !(${res%% *} < ${best[$k]%% *})}"; then
            best[$k]=$res
        fi
        run=("${tiny[@]}")
        # shellcheck disable=SC2086
        res=$(once ${launch[$k]})
        cpu=${res##* }
        if [ -z "${fixed[$k]:-}" ] || awk "BEGIN{exit !($cpu < ${fixed[$k]})}"; then
            fixed[$k]=$cpu
        fi
    done
done
for k in "${!names[@]}"; do
    awk -v n="${names[$k]}" -v p="$points" -v r="${best[$k]}" -v base="${best[0]}" \
        -v f="${fixed[$k]}" 'BEGIN {
        split(r, a, " "); split(base, b, " ")
        printf "%-12s loop %6.3f s %7.1f points/s  x%.2f   wall %6.3f s   cpu/pt %5.2f ms (%5.2f ms beyond the %.2f s fixed)\n",
               n, a[1], p / a[1], b[1] / a[1], a[2], 1000 * a[3] / p, 1000 * (a[3] - f) / (p - 1), f }'
done
spin_control
